using System.Text.Json;
using Streaming.Contracts;
using Streaming.Timelines;

namespace Streaming.Tests.Inference;

public sealed class TimelineBuilderTests
{
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];
    private static readonly TimelineBuilder Builder = new(Labels);

    /// <summary>A 3 s window starting at <paramref name="start"/> s (hop 1 s), voted <paramref name="voted"/>.</summary>
    private static EmotionWindow W(long index, double start, string voted, float confidence = 0.8f, float[]? probabilities = null, string speaker = "customer") =>
        new(new StreamKey(StreamKey.DefaultTenant, "call-1", speaker), SpeakerRole.Customer, index, start, start + 3, voted, voted, confidence,
            voted == EmotionWindow.Silence ? [] : probabilities ?? [0.1f, 0.1f, 0.1f, 0.7f], false, default);

    [Fact]
    public void Merge_SameVotedLabel_OneSegmentSplitAtCentreMidpoints()
    {
        var segments = Builder.Merge([W(0, 0, "happy"), W(1, 1, "happy"), W(2, 2, "angry"), W(3, 3, "angry")]);

        Assert.Equal(2, segments.Count);
        // Centres 1.5, 2.5, 3.5, 4.5: windows 1 and 2 meet at 3.0; the first starts at 0, the last ends at 6.
        Assert.Equal(("happy", 0.0, 3.0), (segments[0].Label, segments[0].Start, segments[0].End));
        Assert.Equal(("angry", 3.0, 6.0), (segments[1].Label, segments[1].Start, segments[1].End));
    }

    [Fact]
    public void Merge_Segment_AveragesConfidenceAndProbabilities()
    {
        var segment = Assert.Single(Builder.Merge([W(0, 0, "sad", 0.6f, [0.1f, 0.1f, 0.6f, 0.2f]), W(1, 1, "sad", 0.8f, [0.1f, 0.1f, 0.8f, 0f])]));

        Assert.Equal(0.7f, segment.Confidence, 5);
        Assert.Equal(0.7f, segment.Probabilities["sad"], 5);
        Assert.Equal(0.1f, segment.Probabilities["angry"], 5);
        Assert.Equal(1f, segment.Probabilities.Values.Sum(), 5);
    }

    [Fact]
    public void Merge_SilenceWindows_FormOwnSegmentsWithoutProbabilities()
    {
        var segments = Builder.Merge([W(0, 0, "angry"), W(1, 1, EmotionWindow.Silence), W(2, 2, EmotionWindow.Silence), W(3, 3, "angry")]);

        Assert.Equal(["angry", EmotionWindow.Silence, "angry"], segments.Select(s => s.Label));
        Assert.Empty(segments[1].Probabilities);
        Assert.Equal((2.0, 4.0), (segments[1].Start, segments[1].End));
    }

    [Fact]
    public void Merge_GapBetweenWindows_SplitsSegment()
    {
        var segments = Builder.Merge([W(0, 0, "happy"), W(1, 1, "happy"), W(5, 5, "happy")]);

        Assert.Equal(2, segments.Count);
        Assert.Equal((0.0, 4.0), (segments[0].Start, segments[0].End));
        Assert.Equal((5.0, 8.0), (segments[1].Start, segments[1].End));
    }

    [Fact]
    public void Summarize_HandMadeTimeline_SharesLongestAngryAndDominant()
    {
        // Window i owns [i+1, i+2) (the first [0,2), the last [10,12)), so the segments are
        // happy [0,3), angry [3,6), silence [6,8), angry [8,9), neutral [9,12).
        var windows = new[]
        {
            W(0, 0, "happy"), W(1, 1, "happy"),
            W(2, 2, "angry"), W(3, 3, "angry"), W(4, 4, "angry"),
            W(5, 5, EmotionWindow.Silence), W(6, 6, EmotionWindow.Silence),
            W(7, 7, "angry"), W(8, 8, "neutral"), W(9, 9, "neutral"),
        };
        var stats = Builder.Summarize(Builder.BuildSpeaker("customer", SpeakerRole.Customer, windows));

        Assert.Equal(10.0, stats.SpeechSeconds, 9);
        Assert.Equal(2.0, stats.SilenceSeconds, 9);
        Assert.Equal(0.3, stats.EmotionShare["happy"], 9);
        Assert.Equal(0.4, stats.EmotionShare["angry"], 9);
        Assert.Equal(0.3, stats.EmotionShare["neutral"], 9);
        Assert.Equal(0.0, stats.EmotionShare["sad"], 9);
        Assert.Equal("angry", stats.DominantEmotion);
        Assert.Equal(new Stretch("customer", 3.0, 3.0), stats.LongestAngry);
        Assert.Equal((10, 8), (stats.Windows, stats.SpeechWindows));
    }

    [Fact]
    public void Summarize_OnlySilence_NoDominantNoAngry()
    {
        var stats = Builder.Summarize(Builder.BuildSpeaker("agent", SpeakerRole.Agent, [W(0, 0, EmotionWindow.Silence)]));

        Assert.Null(stats.DominantEmotion);
        Assert.Null(stats.LongestAngry);
        Assert.All(stats.EmotionShare.Values, share => Assert.Equal(0.0, share));
    }

    [Fact]
    public void BuildCall_TwoSpeakers_CallSummaryAddsSpeakers()
    {
        var call = new CallWindows("call-1",
        [
            new SpeakerWindows("customer", SpeakerRole.Customer, [W(0, 0, "angry"), W(1, 1, "angry")], true),
            new SpeakerWindows("agent", SpeakerRole.Agent, [W(0, 0, "neutral", speaker: "agent"), W(1, 1, "neutral", speaker: "agent"), W(2, 2, "neutral", speaker: "agent")], true),
        ]);

        var timeline = Builder.BuildCall(call, "emotion-cnn-bilstm", "1.0");

        Assert.Equal(["customer", "agent"], timeline.Speakers.Select(s => s.Speaker));
        Assert.Equal(4.0, timeline.Summary.Speakers["customer"].SpeechSeconds, 9);
        Assert.Equal(9.0, timeline.Summary.Call.SpeechSeconds, 9);
        Assert.Equal(5.0 / 9.0, timeline.Summary.Call.EmotionShare["neutral"], 9);
        Assert.Equal("neutral", timeline.Summary.Call.DominantEmotion);
        Assert.Equal("customer", timeline.Summary.Call.LongestAngry?.Speaker);
        Assert.Equal(5, timeline.Summary.Call.Windows);
    }

    [Fact]
    public void CallTimeline_SerializedCamelCase_HasDocumentedFields()
    {
        var call = new CallWindows("call-1", [new SpeakerWindows("customer", SpeakerRole.Customer, [W(0, 0, "angry")], true)]);
        var json = JsonSerializer.Serialize(Builder.BuildCall(call, "m", "2"), new JsonSerializerOptions(JsonSerializerDefaults.Web));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var speaker = root.GetProperty("speakers")[0];
        var segment = speaker.GetProperty("segments")[0];

        Assert.Equal("customer", speaker.GetProperty("speaker").GetString());
        Assert.Equal("Customer", speaker.GetProperty("role").GetString());
        Assert.Equal(0.0, segment.GetProperty("start").GetDouble());
        Assert.Equal(3.0, segment.GetProperty("end").GetDouble());
        Assert.Equal("angry", segment.GetProperty("label").GetString());
        Assert.Equal(0.7f, segment.GetProperty("probabilities").GetProperty("angry").GetSingle(), 5);
        Assert.True(segment.TryGetProperty("confidence", out _));
        Assert.Equal(1, speaker.GetProperty("windows").GetArrayLength());
        Assert.Equal("angry", root.GetProperty("summary").GetProperty("call").GetProperty("dominantEmotion").GetString());
        Assert.Equal(("m", "2"), (root.GetProperty("modelName").GetString(), root.GetProperty("modelVersion").GetString()));
    }
}
