using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;

namespace Streaming.Tests.Distributed;

/// <summary>Rebalances that land where they can do damage: while a stage host is gathering a batch.</summary>
public sealed class RebalanceTests
{
    private const int Calls = 16;
    private const int ChunksPerCall = 12000;

    [Fact]
    public async Task Run_PartitionsRevokedWhileBatchesGathered_OldOwnerNeitherProcessesNorKeepsTheirCalls()
    {
        var group = TestServers.Unique("g");
        await using var bus = new KafkaBus(TestServers.Kafka(maxBatch: 1000));
        var topic = await bus.NewTopicAsync<AudioChunk>("revoke");
        await bus.PublishCallsAsync(topic, Calls, ChunksPerCall);

        // A backlog keeps the first instance gathering large batches (a trivial stage: most of its time is spent in Consume,
        // where rebalance callbacks run), so a revocation caused by a second instance joining may land mid-gather. Three
        // second instances join and leave in turn: three revocations.
        var first = new CallStateStage();
        var firstLog = new LineLogger();
        await using var a = bus.Run(new StageHostSettings(topic, group), AudioChunkCodec.Instance, first, logger: firstLog);
        await Wait.UntilAsync(() => first.Processed.Count >= 1000, "the first instance to be under way");
        var seconds = new List<CallStateStage>();
        for (var joins = 0; joins < 3; joins++)
        {
            var joined = Order.Next();
            long left;
            var second = new CallStateStage();
            seconds.Add(second);
            await using (bus.Run(new StageHostSettings(topic, group), AudioChunkCodec.Instance, second))
            {
                // It re-reads at least the last message of each of its calls (their state's start) from the committed offsets.
                await Wait.UntilAsync(() => second.Processed.Count > 0, $"second instance {joins} to process its partitions");
                await Task.Delay(1000); // every moved call seen
                var moved = second.Processed.Select(m => m.Call).ToHashSet();
                Assert.NotEqual(Calls, moved.Count); // both instances own partitions: a real split, not a handover of everything
                var kept = first.Calls.Intersect(moved).ToList();
                Assert.True(kept.Count == 0, $"join {joins}: the first instance keeps state of moved calls: {string.Join(", ", kept)}");
                left = Order.Next();
                var revoked = firstLog.Lines.FirstOrDefault(l => l.Order > joined && l.Text.Contains("revoked partitions", StringComparison.Ordinal));
                Assert.True(revoked.Text is not null, $"join {joins}: the first instance logged no revocation:\n{string.Join("\n", firstLog.Lines)}");
                var revokedAt = revoked.Order;
                var late = first.Processed.Count(m => m.Order > revokedAt && m.Order < left && moved.Contains(m.Call));
                Assert.True(late == 0, $"join {joins}: the first instance processed {late} chunks of moved calls after their partitions were revoked");
            }
            await Wait.UntilAsync(() => firstLog.Lines.Any(l => l.Order > left && l.Text.Contains("assigned partitions [", StringComparison.Ordinal) && !l.Text.Contains("[]", StringComparison.Ordinal)),
                "the first instance to take the partitions back");
        }
        await Wait.UntilAsync(() => first.Processed.Concat(seconds.SelectMany(s => s.Processed)).Select(m => (m.Call, m.Sequence)).Distinct().Count() == Calls * ChunksPerCall,
            "every chunk over all instances", 180);
    }

    /// <summary>Holds state per stream (the last sequence), dropped with its call; records what it processed, in <see cref="Order"/>.</summary>
    private sealed class CallStateStage : IResumableStage<AudioChunk>
    {
        private readonly ConcurrentDictionary<StreamKey, long> _streams = new();
        private readonly ConcurrentQueue<(string Call, long Sequence, long Order)> _processed = new();

        public IReadOnlyList<(string Call, long Sequence, long Order)> Processed => [.. _processed];

        public IReadOnlyCollection<string> Calls => [.. _streams.Keys.Select(s => s.CallId).Distinct()];

        public StreamKey StreamOf(AudioChunk message) => message.Stream;

        public long? ResumeSequence(StreamKey stream) => _streams.TryGetValue(stream, out var last) ? last : null;

        public void DropCall(string callId)
        {
            foreach (var stream in _streams.Keys.Where(s => s.CallId == callId)) _streams.TryRemove(stream, out _);
        }

        public ValueTask EndStreamAsync(StreamKey stream, CancellationToken cancellationToken)
        {
            _streams.TryRemove(stream, out _);
            return ValueTask.CompletedTask;
        }

        public ValueTask HandleAsync(IReadOnlyList<AudioChunk> batch, CancellationToken cancellationToken)
        {
            foreach (var chunk in batch)
            {
                _streams[chunk.Stream] = chunk.Sequence;
                _processed.Enqueue((chunk.Stream.CallId, chunk.Sequence, Order.Next()));
            }
            return ValueTask.CompletedTask;
        }
    }
}

/// <summary>One counter for everything a test records, so that events of different threads can be put in order.</summary>
internal static class Order
{
    private static long _last;

    public static long Next() => Interlocked.Increment(ref _last);
}

/// <summary>Keeps every formatted log line with its <see cref="Order"/>, so a test can see what a host logged and when.</summary>
internal sealed class LineLogger : ILogger
{
    private readonly ConcurrentQueue<(string Text, long Order)> _lines = new();

    public IReadOnlyList<(string Text, long Order)> Lines => [.. _lines];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue((formatter(state, exception), Order.Next()));
}
