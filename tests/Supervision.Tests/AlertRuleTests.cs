using Streaming.Alerts;
using Streaming.Contracts;

namespace Streaming.Tests.Supervision;

public sealed class AlertRuleTests
{
    private static readonly AlertRule Angry5Within10 = new() { Name = "angry", Label = "angry", Seconds = 5, WithinSeconds = 10, Severity = AlertSeverity.Critical };

    /// <summary>Indices of the windows at which an alert fired.</summary>
    private static List<long> FiredAt(IEnumerable<EmotionWindow> windows, params AlertRule[] rules)
    {
        var evaluator = new StreamAlertEvaluator(rules);
        return [.. windows.Where(w => evaluator.Add(w).Count > 0).Select(w => w.Index)];
    }

    [Fact]
    public void LabelWithin_AngryReachesExactlyNSeconds_FiresAtThatWindowNotBefore()
    {
        // Windows 10.. are angry; window 10 adds (11, 12], so 5 s of anger are complete with window 14.
        var fired = FiredAt(Windows.Sequence("nnnnnnnnnnaaaaaaaa"), Angry5Within10);

        Assert.Equal([14L], fired);
    }

    [Fact]
    public void LabelWithin_FirstWindowCountsForItsWholeLength()
    {
        // The first window adds 2 s (nothing before it), every later one 1 s: 2 + 1 + 1 + 1 = 5 s at window 3.
        Assert.Equal([3L], FiredAt(Windows.Sequence("aaaaaa"), Angry5Within10));
    }

    [Fact]
    public void LabelWithin_LongAngryStretch_FiresOncePerEpisode()
    {
        // Anger 10-39 is one episode; 20 s of calm end it; anger from 60 is a second one.
        var pattern = new string('n', 10) + new string('a', 30) + new string('n', 20) + new string('a', 10);

        Assert.Equal([14L, 64L], FiredAt(Windows.Sequence(pattern), Angry5Within10));
    }

    [Fact]
    public void LabelWithin_AngerWithBreaks_CountsEverySecondWithinTheLookBack()
    {
        // 3 s angry, 2 s calm, 2 s angry: 5 s within the last 7 s.
        Assert.Equal([16L], FiredAt(Windows.Sequence("nnnnnnnnnnaaannaa"), Angry5Within10));
    }

    [Fact]
    public void LabelWithin_AngerSpreadWiderThanTheLookBack_DoesNotFire()
    {
        // Never 5 angry seconds within any 10 s: 2 angry, 4 calm, repeated.
        Assert.Empty(FiredAt(Windows.Sequence("nn" + string.Concat(Enumerable.Repeat("aannnn", 10))), Angry5Within10));
    }

    [Fact]
    public void LabelFor_SadWithoutBreak_NeedsAllNSeconds()
    {
        var sad5 = new AlertRule { Name = "sad", Label = "sad", Seconds = 5, WithinSeconds = 5 };

        // 4 s sad, a break, 4 s sad: no; then 5 s without a break: fires at the fifth.
        Assert.Equal([22L], FiredAt(Windows.Sequence("nnssssnssssnnnnnnnsssss"), sad5));
    }

    [Fact]
    public void ShareRising_AngerAfterCalmOpening_FiresWhenRecentShareExceedsEarlierByRise()
    {
        var rising = new AlertRule { Name = "rising", Kind = AlertRuleKind.ShareRising, Label = "angry", WithinSeconds = 20, Rise = 0.5, MinEarlierSpeechSeconds = 30 };

        // 60 calm windows (61 s), then anger: the last 20 s hold k angry seconds, earlier share 0, so k = 10 reaches 0.5.
        Assert.Equal([69L], FiredAt(Windows.Sequence(new string('n', 60) + new string('a', 20)), rising));
    }

    [Fact]
    public void ShareRising_AngryFromTheStart_IsNotARise()
    {
        var rising = new AlertRule { Name = "rising", Kind = AlertRuleKind.ShareRising, Label = "angry", WithinSeconds = 20, Rise = 0.3, MinEarlierSpeechSeconds = 30 };

        Assert.Empty(FiredAt(Windows.Sequence(new string('a', 80)), rising));
    }

    [Fact]
    public void ShareRising_TooLittleEarlierSpeech_DoesNotFire()
    {
        var rising = new AlertRule { Name = "rising", Kind = AlertRuleKind.ShareRising, Label = "angry", WithinSeconds = 20, Rise = 0.5, MinEarlierSpeechSeconds = 30 };

        // 25 calm seconds, then silence: earlier speech stays below 30 s however the anger grows.
        Assert.Empty(FiredAt(Windows.Sequence(new string('n', 24) + new string('-', 30) + new string('a', 20)), rising));
    }

    [Fact]
    public void ShareRising_SilenceIsNotSpeech()
    {
        var rising = new AlertRule { Name = "rising", Kind = AlertRuleKind.ShareRising, Label = "angry", WithinSeconds = 20, Rise = 0.95, MinEarlierSpeechSeconds = 30 };

        // The last 20 s: 10 silent, 10 angry. Only then is the angry share of speech 1.0 (silence excluded; after 9 angry windows one
        // calm second is still inside, 0.9), against 0 earlier: fires at the 10th angry window.
        Assert.Equal([79L], FiredAt(Windows.Sequence(new string('n', 60) + new string('-', 10) + new string('a', 10)), rising));
    }

    [Fact]
    public void Add_ReplayedWindow_IsIgnored()
    {
        var evaluator = new StreamAlertEvaluator([Angry5Within10]);
        var fired = 0;
        foreach (var w in Windows.Sequence("aaa"))
        {
            fired += evaluator.Add(w).Count;
            fired += evaluator.Add(w).Count; // delivered twice
        }

        // 2 + 1 + 1 = 4 s: one more second needed, replays did not count.
        Assert.Equal(0, fired);
        Assert.Single(evaluator.Add(Windows.At(3, "angry")));
    }

    [Fact]
    public void Engine_AgentStream_IsNeverWatched()
    {
        var engine = new AlertEngine(_ => [Angry5Within10]);

        var alerts = Enumerable.Range(0, 20).SelectMany(i => engine.Observe(Windows.At(i, "angry", role: SpeakerRole.Agent))).ToList();

        Assert.Empty(alerts);
        Assert.Equal(0, engine.ActiveStreams);
    }

    [Fact]
    public void Engine_Alert_CarriesRuleCallAndEpisodeIdAndStateEndsWithTheStream()
    {
        var engine = new AlertEngine(tenant => tenant == "t1" ? [Angry5Within10] : []);
        var windows = Windows.Sequence("aaaaaaaa").ToList();
        windows[^1] = windows[^1] with { IsFinal = true };

        var alert = Assert.Single(windows.SelectMany(engine.Observe));

        Assert.Equal(("t1", "call-1", "customer", "angry", AlertSeverity.Critical, 5.0), (alert.Tenant, alert.CallId, alert.Speaker, alert.Rule, alert.Severity, alert.CallSeconds));
        Assert.Equal(Windows.CallStart.AddSeconds(5), alert.Time);
        Assert.Equal(Alert.EpisodeId("t1", "call-1", "customer", "angry", 3), alert.Id);
        Assert.NotEqual(Alert.EpisodeId("t2", "call-1", "customer", "angry", 3), alert.Id);
        Assert.Equal(0, engine.ActiveStreams);
        Assert.Empty(engine.Observe(windows[5] with { Stream = windows[5].Stream with { Tenant = "t2" } }));
    }
}
