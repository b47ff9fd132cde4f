using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Tests.Standalone;

/// <summary>
/// The delay ingest's overload refusals read (<see cref="PipelineLag"/>), on a clock the test moves: the largest delay of the
/// recent windows, forgotten after the period; and a stall (open streams, nothing stored) counted while it lasts.
/// </summary>
public sealed class PipelineLagTests
{
    private readonly ManualClock _clock = new();

    [Fact]
    public void Current_LateWindow_CountsForThePeriodThenIsForgotten()
    {
        var lag = new PipelineLag(_clock);
        var stream = new StreamKey("t", "c", "customer");
        lag.Stored(Window(stream, 0, eventTime: _clock.GetUtcNow() - TimeSpan.FromSeconds(3)));
        lag.Stored(Window(stream, 1, eventTime: _clock.GetUtcNow() - TimeSpan.FromMilliseconds(100), isFinal: true));

        Assert.Equal(TimeSpan.FromSeconds(3), lag.Current());
        _clock.Advance(PipelineLag.Period);
        Assert.Equal(TimeSpan.Zero, lag.Current());
    }

    [Fact]
    public void Current_OpenStreamsAndNothingStored_CountsTheStallBeyondTheHop()
    {
        var lag = new PipelineLag(_clock);
        var stream = new StreamKey("t", "c", "customer");
        lag.Stored(Window(stream, 0, _clock.GetUtcNow()));
        _clock.Advance(TimeSpan.FromSeconds(1));
        lag.Stored(Window(stream, 1, _clock.GetUtcNow()));

        _clock.Advance(TimeSpan.FromSeconds(8)); // one hop expected, seven more without a window
        Assert.Equal(TimeSpan.FromSeconds(7), lag.Current());

        lag.Stored(Window(stream, 2, _clock.GetUtcNow(), isFinal: true)); // the stream ends: no stall any more
        Assert.Equal(TimeSpan.Zero, lag.Current());
    }

    private static EmotionWindow Window(StreamKey stream, long index, DateTimeOffset eventTime, bool isFinal = false) =>
        new(stream, SpeakerRole.Customer, index, index, index + 3, "neutral", "neutral", 0.9f, [0.9f, 0.1f], isFinal, eventTime);

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 12, 1, 6, 0, 0, TimeSpan.Zero);

        public void Advance(TimeSpan by) => _now += by;

        public override DateTimeOffset GetUtcNow() => _now;
    }
}
