using System.Collections.Concurrent;
using Streaming.Contracts;
using Streaming.Pipeline;
using Streaming.Timelines;

namespace Streaming.Tests.Pipeline;

public sealed class AggregatorStageTests
{
    private static EmotionWindow Window(string speaker, long index, bool final = false) =>
        new(new StreamKey(StreamKey.DefaultTenant, "call", speaker), SpeakerRole.Customer, index, index, index + 3, "neutral", "neutral", 0.9f,
            [0.9f, 0.05f, 0.03f, 0.02f], final, DateTimeOffset.UnixEpoch.AddSeconds(index + 3));

    [Fact]
    public async Task HandleAsync_TwoStreams_WritesThemSideBySideEachInOrder()
    {
        // Each stream's first write waits until the other stream's first write has begun: one stream after the other never gets there.
        var store = new RendezvousStore(new InMemoryTimelineStore());
        var stage = new AggregatorStage(store);
        EmotionWindow[] batch = [Window("customer", 0), Window("agent", 0), Window("customer", 1), Window("agent", 1, final: true), Window("customer", 2, final: true)];

        await stage.HandleAsync(batch, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([0L, 1, 2], store.Appended["customer"]);
        Assert.Equal([0L, 1], store.Appended["agent"]);
        var call = await store.GetCallAsync(StreamKey.DefaultTenant, "call", CancellationToken.None);
        Assert.All(call!.Speakers, s => Assert.True(s.IsComplete));
    }

    /// <summary>An in-memory store whose first append of each speaker waits for the other speaker's first append.</summary>
    private sealed class RendezvousStore(ITimelineStore inner) : ITimelineStore
    {
        private readonly TaskCompletionSource _customer = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _agent = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentDictionary<string, List<long>> Appended { get; } = new();

        public async ValueTask<bool> AppendAsync(EmotionWindow window, CancellationToken cancellationToken)
        {
            var (mine, other) = window.Stream.Speaker == "customer" ? (_customer, _agent) : (_agent, _customer);
            mine.TrySetResult();
            await other.Task.WaitAsync(cancellationToken);
            Appended.GetOrAdd(window.Stream.Speaker, _ => []).Add(window.Index);
            return await inner.AppendAsync(window, cancellationToken);
        }

        public ValueTask<bool> CompleteStreamAsync(StreamKey stream, CancellationToken cancellationToken) => inner.CompleteStreamAsync(stream, cancellationToken);

        public ValueTask SetMetadataAsync(string tenant, string callId, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken) =>
            inner.SetMetadataAsync(tenant, callId, metadata, cancellationToken);

        public ValueTask<CallWindows?> GetCallAsync(string tenant, string callId, CancellationToken cancellationToken) => inner.GetCallAsync(tenant, callId, cancellationToken);

        public ValueTask<IReadOnlyList<CallInfo>> ListCallsAsync(string tenant, CancellationToken cancellationToken) => inner.ListCallsAsync(tenant, cancellationToken);

        public ValueTask<bool> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken) => inner.EraseCallAsync(tenant, callId, cancellationToken);
    }
}
