using Streaming.Contracts;

namespace Streaming.Tests.Supervision;

/// <summary>Synthetic window sequences: the shipped model's 2 s windows every 1 s, so each window after the first adds 1 s of audio.</summary>
internal static class Windows
{
    public static readonly DateTimeOffset CallStart = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    public static EmotionWindow At(long index, string voted, string call = "call-1", SpeakerRole role = SpeakerRole.Customer, bool isFinal = false,
        string tenant = "t1")
    {
        float[] probabilities = voted == EmotionWindow.Silence ? [] : voted == "angry" ? [0.1f, 0.1f, 0.1f, 0.7f] : [0.7f, 0.1f, 0.1f, 0.1f];
        return new EmotionWindow(new StreamKey(tenant, call, role == SpeakerRole.Customer ? "customer" : "agent"), role, index, index, index + 2,
            voted, voted, probabilities.Length == 0 ? 0 : probabilities.Max(), probabilities, isFinal, CallStart.AddSeconds(index + 2));
    }

    /// <summary>Consecutive windows from <paramref name="first"/>, one per label in the pattern ("n" neutral, "a" angry, "s" sad, "-" silence).</summary>
    public static IEnumerable<EmotionWindow> Sequence(string pattern, long first = 0, string call = "call-1", string tenant = "t1") =>
        pattern.Select((c, i) => At(first + i, c switch
        {
            'a' => "angry",
            's' => "sad",
            '-' => EmotionWindow.Silence,
            _ => "neutral",
        }, call, tenant: tenant));
}
