using System.Threading.Channels;
using Streaming.Contracts;
using Streaming.Features;
using Streaming.Inference;
using Streaming.Pipeline;
using Streaming.Standalone;
using Streaming.Timelines;

namespace Streaming.Tests.Pipeline;

public sealed class EmbeddedPipelineTests
{
    [Fact]
    public async Task Audio_StageFailsWhileIngestWrites_WriterFailsWithTheStageErrorInsteadOfBlocking()
    {
        using var model = EmotionModel.Load(AnalyzeCommand.DefaultModelPath, FeatureConfig.Telephone8k);
        var pipeline = new EmbeddedPipeline(model, new ClassifierOptions(), new InMemoryTimelineStore(), CancellationToken.None);
        var audio = pipeline.Audio;
        var key = new StreamKey(StreamKey.DefaultTenant, "failing", "customer");
        // The featurizer rejects the first chunk (wrong rate) and stops; more chunks than the channel holds follow.
        await audio.PublishAsync(new AudioChunk(key, SpeakerRole.Customer, 0, 0, 16000, new float[1600], false, DateTimeOffset.UnixEpoch), CancellationToken.None);

        async Task WriteMoreThanTheChannelHoldsAsync()
        {
            for (var i = 1; i <= EmbeddedPipeline.ChannelCapacity * 2; i++)
                await audio.PublishAsync(new AudioChunk(key, SpeakerRole.Customer, i, i * 1600, 8000, new float[1600], false, DateTimeOffset.UnixEpoch), CancellationToken.None);
        }

        // The bound only turns a deadlock into a failure; it does not measure speed.
        var closed = await Assert.ThrowsAsync<ChannelClosedException>(() => WriteMoreThanTheChannelHoldsAsync().WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.IsType<MessageRejectedException>(closed.InnerException);
        var error = await Assert.ThrowsAsync<MessageRejectedException>(() => pipeline.CompleteAsync().WaitAsync(TimeSpan.FromMinutes(2)));
        Assert.Contains("16000 Hz", error.Message);
    }
}
