namespace Streaming.Training.Evaluation;

/// <summary>
/// Cuts an utterance's feature frames into model windows the way the classifier does: windows of
/// <c>window</c> frames every <c>hop</c> frames; an utterance shorter than a window becomes one window
/// padded with the feature frame of digital silence; an uncovered tail of at least <c>minTail</c> frames
/// gets one more window ending at the last frame.
/// </summary>
internal static class Windowing
{
    public static List<int> Starts(int frames, int window, int hop, int minTail)
    {
        var starts = new List<int>();
        if (frames <= window) { starts.Add(0); return starts; }
        int s = 0;
        for (; s + window <= frames; s += hop) starts.Add(s);
        int coveredTo = starts[^1] + window;
        if (frames - coveredTo >= minTail) starts.Add(frames - window);
        return starts;
    }

    /// <summary>
    /// Writes one window in model layout [bands, window] (band-major) from row-major features [frames, bands]:
    /// <paramref name="length"/> frames from <paramref name="start"/> placed at <paramref name="offset"/>,
    /// every other column filled with <paramref name="silence"/>.
    /// </summary>
    public static void Fill(ReadOnlySpan<float> features, int bands, int start, int length, int offset,
        ReadOnlySpan<float> silence, int window, Span<float> destination)
    {
        for (int b = 0; b < bands; b++)
        {
            var row = destination.Slice(b * window, window);
            row.Fill(silence[b]);
            for (int t = 0; t < length; t++) row[offset + t] = features[(start + t) * bands + b];
        }
    }
}
