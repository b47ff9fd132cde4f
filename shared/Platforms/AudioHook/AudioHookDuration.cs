using System.Globalization;
using System.Text.RegularExpressions;

namespace Streaming.Platforms.AudioHook;

/// <summary>AudioHook's durations: ISO 8601 seconds only, "PT1.25S".</summary>
public static partial class AudioHookDuration
{
    /// <summary>Longest duration accepted: a year of call time; anything longer is a broken or hostile client.</summary>
    public const long MaxSeconds = 366L * 24 * 3600;

    /// <summary>Parses to frames at <paramref name="sampleRate"/>; false for anything but the protocol's form or a duration over <see cref="MaxSeconds"/>.</summary>
    public static bool TryParseFrames(string? text, int sampleRate, out long frames)
    {
        frames = 0;
        if (text is null || text.Length > 24 || !Pattern().IsMatch(text)) return false;
        var seconds = decimal.Parse(text.AsSpan(2, text.Length - 3), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        if (seconds > MaxSeconds) return false;
        frames = (long)decimal.Round(seconds * sampleRate);
        return true;
    }

    public static string Format(long frames, int sampleRate) =>
        string.Create(CultureInfo.InvariantCulture, $"PT{frames / (decimal)sampleRate:0.###}S");

    [GeneratedRegex(@"^PT(?:[0-9]*\.)?[0-9]+S\z")] // [0-9] and \z: \d takes any Unicode digit, $ a trailing newline
    private static partial Regex Pattern();
}
