using System.Globalization;
using System.Text;
using Parquet;
using Parquet.Serialization;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Archive;

/// <summary>
/// Finished calls as Parquet, one row per window (<see cref="WindowRow"/>), partitioned the Hive way:
/// <c>DIR/tenant=T/date=YYYY-MM-DD/CALL.parquet</c>, the date being the UTC date of the call's first window, so a SQL engine or
/// pyarrow reads <c>tenant</c> and <c>date</c> as columns and prunes by them. Ids are percent-encoded in paths (only letters,
/// digits, '-' and '_' stay), so no id can leave the directory. Files are written to a temporary name and renamed: a reader
/// never sees half a file, and writing a call again (a redelivered end) replaces it with the same content.
/// </summary>
public sealed class ParquetArchive(string directory, IReadOnlyList<string> labels)
{
    /// <summary>Key-value metadata in every file: the model's labels in <c>probabilities</c> order, comma-separated.</summary>
    public const string LabelsKey = "emotion.labels";

    public const string SchemaVersionKey = "emotion.schema_version";

    public const string SchemaVersion = "1";

    public string Directory { get; } = directory;

    /// <summary>Writes the call's file; returns its path.</summary>
    public async Task<string> WriteCallAsync(string tenant, CallWindows call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var rows = Rows(tenant, call);
        var first = rows.Count > 0 ? rows.MinBy(r => r.EventTime)!.EventTime : DateTime.UnixEpoch;
        var path = PathOf(tenant, call.CallId, DateOnly.FromDateTime(first));
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await ReplaceAsync(path, rows, labels, cancellationToken).ConfigureAwait(false);
        return path;
    }

    /// <summary>
    /// Removes the tenant's call from the archive (GDPR erasure). Every Parquet file under <c>tenant=T/</c> is read: one holding only
    /// the call's rows is deleted, one holding other rows too is rewritten without the call's (as a write: temporary file and rename,
    /// its labels kept). Other tenants' directories are not opened. Returns the rows removed and the files deleted or rewritten.
    /// </summary>
    public async Task<(int Rows, int Files)> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken)
    {
        var root = Path.Combine(Directory, "tenant=" + Encode(tenant));
        if (!System.IO.Directory.Exists(root)) return (0, 0);
        int rows = 0, files = 0;
        foreach (var path in System.IO.Directory.EnumerateFiles(root, "*.parquet", SearchOption.AllDirectories).ToList())
        {
            var file = await ParquetSerializer.DeserializeAsync<WindowRow>(path, cancellationToken: cancellationToken).ConfigureAwait(false);
            var kept = file.Data.Where(r => r.CallId != callId || r.Tenant != tenant).ToList();
            if (kept.Count == file.Data.Count) continue;
            rows += file.Data.Count - kept.Count;
            files++;
            if (kept.Count == 0)
            {
                File.Delete(path);
                continue;
            }
            var fileLabels = file.CustomMetadata.TryGetValue(LabelsKey, out var names) ? names.Split(',') : labels;
            await ReplaceAsync(path, kept, fileLabels, cancellationToken).ConfigureAwait(false);
        }
        return (rows, files);
    }

    /// <summary>Writes <paramref name="rows"/> to a temporary file beside <paramref name="path"/>, then renames it over the path.</summary>
    private static async Task ReplaceAsync(string path, IReadOnlyList<WindowRow> rows, IReadOnlyList<string> labels, CancellationToken cancellationToken)
    {
        var temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            await using (var file = File.Create(temporary)) await WriteAsync(rows, labels, file, cancellationToken).ConfigureAwait(false);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Rows of any number of calls into one Parquet stream (the export endpoint); <paramref name="labels"/> in probability order.</summary>
    public static Task WriteAsync(IReadOnlyList<WindowRow> rows, IReadOnlyList<string> labels, Stream destination, CancellationToken cancellationToken) =>
        ParquetSerializer.SerializeAsync(rows, destination, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy },
            new Dictionary<string, string> { [LabelsKey] = string.Join(',', labels), [SchemaVersionKey] = SchemaVersion }, cancellationToken);

    public static List<WindowRow> Rows(string tenant, CallWindows call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return [.. call.Speakers.SelectMany(s => s.Windows.Select(w => new WindowRow
        {
            Tenant = tenant,
            CallId = call.CallId,
            Speaker = s.Speaker,
            Role = RoleName(s.Role),
            WindowIndex = w.Index,
            StartSeconds = w.StartSeconds,
            EndSeconds = w.EndSeconds,
            Label = w.Label,
            VotedLabel = w.VotedLabel,
            Confidence = w.Confidence,
            Probabilities = w.Probabilities,
            EventTime = w.EventTime.UtcDateTime,
            AgentId = call.Metadata?.GetValueOrDefault(WindowRow.AgentMetadataKey),
            Queue = call.Metadata?.GetValueOrDefault(WindowRow.QueueMetadataKey),
        }))];
    }

    public string PathOf(string tenant, string callId, DateOnly date) => Path.Combine(Directory, "tenant=" + Encode(tenant),
        "date=" + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), Encode(callId) + ".parquet");

    private static string RoleName(SpeakerRole role) => role switch
    {
        SpeakerRole.Customer => "customer",
        SpeakerRole.Agent => "agent",
        _ => "unknown",
    };

    /// <summary>Percent-encodes every byte of the UTF-8 form except ASCII letters, digits, '-' and '_' (so '.', '/' and '%' are encoded).</summary>
    public static string Encode(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var encoded = new StringBuilder(id.Length);
        foreach (var b in Encoding.UTF8.GetBytes(id))
        {
            if (char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'_') encoded.Append((char)b);
            else encoded.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
        }
        return encoded.ToString();
    }
}
