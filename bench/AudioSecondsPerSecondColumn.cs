using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Streaming.Benchmarks;

/// <summary>
/// Audio-seconds processed per CPU-second (one thread, so CPU time = wall time): the seconds of
/// audio one operation processes divided by its mean time.
/// </summary>
public sealed class AudioSecondsPerSecondColumn(double audioSecondsPerOperation) : IColumn
{
    public string Id => nameof(AudioSecondsPerSecondColumn);
    public string ColumnName => "Audio-s/CPU-s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{audioSecondsPerOperation} audio-seconds per operation / mean seconds per operation";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null ? "NA" : (audioSecondsPerOperation / (stats.Mean * 1e-9)).ToString("N0", style.CultureInfo);
    }
}
