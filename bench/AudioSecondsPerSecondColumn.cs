using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Streaming.Benchmarks;

/// <summary>
/// Audio-seconds processed per CPU-second (one thread, so CPU time = wall time): the seconds of
/// audio one operation processes divided by its mean time, or by its fastest iteration's time
/// (<paramref name="fromMin"/>), the one least disturbed by other processes on a shared machine.
/// </summary>
public sealed class AudioSecondsPerSecondColumn(double audioSecondsPerOperation, bool fromMin = false) : IColumn
{
    public string Id => nameof(AudioSecondsPerSecondColumn) + (fromMin ? "Min" : "Mean");
    public string ColumnName => fromMin ? "Audio-s/CPU-s (min)" : "Audio-s/CPU-s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => fromMin ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => $"{audioSecondsPerOperation} audio-seconds per operation / {(fromMin ? "fastest iteration's" : "mean")} seconds per operation";

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null) return "NA";
        double nanoseconds = fromMin ? stats.Min : stats.Mean;
        return (audioSecondsPerOperation / (nanoseconds * 1e-9)).ToString("N0", style.CultureInfo);
    }
}

/// <summary>Audio-seconds per CPU-second from the mean and from the fastest iteration, for benchmarks of one minute of audio per operation.</summary>
public sealed class AudioMinuteColumns : ManualConfig
{
    public const int Seconds = 60;

    public AudioMinuteColumns() => AddColumn(new AudioSecondsPerSecondColumn(Seconds), new AudioSecondsPerSecondColumn(Seconds, fromMin: true));
}
