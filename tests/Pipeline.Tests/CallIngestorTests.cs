using Streaming.Contracts;
using Streaming.Pipeline;

namespace Streaming.Tests.Pipeline;

public sealed class CallIngestorTests
{
    private static float[] StereoTone(int rate, double seconds)
    {
        var frames = (int)(rate * seconds);
        var audio = new float[frames * 2];
        for (var i = 0; i < frames; i++)
        {
            audio[2 * i] = 0.5f * MathF.Sin(2 * MathF.PI * 440 * i / rate);
            audio[2 * i + 1] = 0.25f * MathF.Sin(2 * MathF.PI * 1000 * i / rate);
        }
        return audio;
    }

    [Fact]
    public async Task WriteAsync_Stereo44k_PublishesOneCanonicalStreamPerSpeaker()
    {
        var sink = new CollectingSink<AudioChunk>();
        var ingestor = new CallIngestor(StreamKey.DefaultTenant, "call-1", 44100, 2, new ChannelRoles().Assign(2), customerOnly: false, sink);
        var audio = StereoTone(44100, 2.0);
        for (var offset = 0; offset < audio.Length; offset += 882 * 2) // 20 ms frames, as a live platform sends
            await ingestor.WriteAsync(audio.AsMemory(offset, Math.Min(882 * 2, audio.Length - offset)), CancellationToken.None);
        await ingestor.CompleteAsync(CancellationToken.None);

        foreach (var speaker in new[] { "customer", "agent" })
        {
            var chunks = sink.Messages.Where(c => c.Stream.Speaker == speaker).ToList();
            Assert.All(chunks, c => Assert.Equal(8000, c.SampleRate));
            Assert.Equal(Enumerable.Range(0, chunks.Count).Select(i => (long)i), chunks.Select(c => c.Sequence));
            Assert.Single(chunks, c => c.IsFinal);
            Assert.True(chunks[^1].IsFinal);
            Assert.Equal(16000, chunks.Sum(c => c.Samples.Length)); // 2 s at 8 kHz, exactly
            for (var i = 1; i < chunks.Count; i++)
                Assert.Equal(chunks[i - 1].StartSample + chunks[i - 1].Samples.Length, chunks[i].StartSample);
        }
        Assert.Equal(SpeakerRole.Agent, sink.Messages.First(c => c.Stream.Speaker == "agent").Role);
    }

    [Fact]
    public async Task WriteAsync_CustomerOnly_PublishesNoAgentAudio()
    {
        var sink = new CollectingSink<AudioChunk>();
        var ingestor = new CallIngestor(StreamKey.DefaultTenant, "call-2", 8000, 2, new ChannelRoles().Assign(2), customerOnly: true, sink);
        await ingestor.WriteAsync(StereoTone(8000, 1.0), CancellationToken.None);
        await ingestor.CompleteAsync(CancellationToken.None);

        Assert.NotEmpty(sink.Messages);
        Assert.All(sink.Messages, c => Assert.Equal(SpeakerRole.Customer, c.Role));
        Assert.Equal(["customer"], ingestor.Streams.Select(s => s.Speaker));
    }

    [Fact]
    public async Task WriteAsync_PassthroughRate_KeepsTheChannelsSamples()
    {
        var sink = new CollectingSink<AudioChunk>();
        var ingestor = new CallIngestor(StreamKey.DefaultTenant, "call-3", 8000, 2, new ChannelRoles(CustomerChannel: 1).Assign(2), customerOnly: false, sink);
        var audio = StereoTone(8000, 0.5);
        await ingestor.WriteAsync(audio, CancellationToken.None);
        await ingestor.CompleteAsync(CancellationToken.None);

        var customer = sink.Messages.Where(c => c.Stream.Speaker == "customer").SelectMany(c => c.Samples).ToArray();
        Assert.Equal(audio.Where((_, i) => i % 2 == 1), customer); // the customer is on channel 1 here
    }

    [Fact]
    public async Task WriteChannelAsync_TracksOfDifferentLengths_EachStreamGetsItsOwnAudio()
    {
        var sink = new CollectingSink<AudioChunk>();
        var ingestor = new CallIngestor("acme", "call-6", 8000, 2, new ChannelRoles().Assign(2), customerOnly: false, sink, chunkSamples: 160);
        var customer = Enumerable.Range(0, 480).Select(i => i / 1000f).ToArray();
        await ingestor.WriteChannelAsync(0, customer, CancellationToken.None);
        await ingestor.WriteChannelAsync(1, new float[160], CancellationToken.None);
        await ingestor.CompleteAsync(CancellationToken.None);

        Assert.Equal(customer, sink.Messages.Where(c => c.Stream.Speaker == "customer").SelectMany(c => c.Samples));
        Assert.Equal(160, sink.Messages.Where(c => c.Stream.Speaker == "agent").Sum(c => c.Samples.Length));
        Assert.All(sink.Messages, c => Assert.Equal("acme", c.Stream.Tenant));
    }

    [Fact]
    public async Task WriteChannelAsync_CustomerOnly_AgentTrackDropped()
    {
        var sink = new CollectingSink<AudioChunk>();
        var ingestor = new CallIngestor("acme", "call-7", 8000, 2, new ChannelRoles().Assign(2), customerOnly: true, sink);
        await ingestor.WriteChannelAsync(1, new float[1600], CancellationToken.None);
        await ingestor.CompleteAsync(CancellationToken.None);

        Assert.False(ingestor.Keeps(1));
        Assert.All(sink.Messages, c => Assert.Equal("customer", c.Stream.Speaker));
        Assert.Empty(sink.Messages.SelectMany(c => c.Samples));
    }

    [Fact]
    public void Assign_AgentChannelBeyondTheAudio_NamesTheAgentChannel()
    {
        var e = Assert.Throws<ArgumentException>(() => new ChannelRoles(AgentChannel: 1).Assign(1));
        Assert.Contains("agent channel 1 does not exist", e.Message);
    }

    [Fact]
    public void Assign_CustomerChannelBeyondStereo_NamesTheCustomerChannelNotAnotherOne()
    {
        var e = Assert.Throws<ArgumentException>(() => new ChannelRoles(CustomerChannel: 3).Assign(2));
        Assert.StartsWith("customer channel 3 does not exist", e.Message);
    }

    [Fact]
    public void Constructor_AssignmentBeyondTheAudio_NamesTheChannel()
    {
        var e = Assert.Throws<ArgumentException>(() => new CallIngestor(StreamKey.DefaultTenant, "call-4", 8000, 1,
            [new ChannelAssignment(1, "agent", SpeakerRole.Agent)], false, new CollectingSink<AudioChunk>()));
        Assert.Contains("channel 1", e.Message);
    }

    [Fact]
    public async Task WriteAsync_AfterComplete_Throws()
    {
        var ingestor = new CallIngestor(StreamKey.DefaultTenant, "call-5", 8000, 1, new ChannelRoles().Assign(1), false, new CollectingSink<AudioChunk>());
        await ingestor.CompleteAsync(CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ingestor.WriteAsync(new float[8], CancellationToken.None).AsTask());
    }
}
