using System.ComponentModel.DataAnnotations;

namespace Streaming.Dashboard;

/// <summary>The limit of <c>GET /api/export</c> (configuration section "Export"; docs/dashboard.md).</summary>
public sealed class ExportOptions
{
    public const string Section = "Export";

    /// <summary>
    /// Windows in one export at most; a request over it gets 413. The rows and the file are built in memory before the file is
    /// sent (a Parquet file ends with the index of its row groups), so this bounds a request's memory: 100,000 windows are about
    /// 14 hours of two-party calls (one window per second per speaker). Larger backfills use the export command, one file per call.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxWindows { get; set; } = 100_000;
}
