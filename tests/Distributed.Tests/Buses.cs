using System.Collections.Concurrent;
using System.Threading.Channels;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Streaming.Contracts;
using Streaming.Messaging.Kafka;
using Streaming.Pipeline;

namespace Streaming.Tests.Distributed;

/// <summary>What the bus contract tests need from a transport: topics to publish to and stages to run on them.</summary>
public interface ITestBus : IAsyncDisposable
{
    /// <summary>Makes a new topic ready (a Kafka topic with leaders, or a bounded channel).</summary>
    Task CreateTopicAsync<T>(string topic);

    IMessageSink<T> Sink<T>(string topic, IMessageCodec<T> codec);

    /// <summary>Waits until everything published so far is durable.</summary>
    Task FlushAsync();

    /// <summary>Runs <paramref name="stage"/> on <paramref name="topic"/> until the returned handle is disposed.</summary>
    IAsyncDisposable Run<T>(string topic, string group, IMessageCodec<T> codec, IStage<T> stage);
}

/// <summary>The embedded transport: bounded channels (FullMode = Wait) and <see cref="StageRunner"/>.</summary>
public sealed class InProcessBus : ITestBus
{
    private readonly ConcurrentDictionary<string, object> _channels = new();

    public Task CreateTopicAsync<T>(string topic)
    {
        _channels[topic] = System.Threading.Channels.Channel.CreateBounded<T>(new BoundedChannelOptions(64) { FullMode = BoundedChannelFullMode.Wait });
        return Task.CompletedTask;
    }

    public IMessageSink<T> Sink<T>(string topic, IMessageCodec<T> codec) => new ChannelSink<T>(Channel<T>(topic).Writer);

    public Task FlushAsync() => Task.CompletedTask;

    public IAsyncDisposable Run<T>(string topic, string group, IMessageCodec<T> codec, IStage<T> stage)
    {
        var cts = new CancellationTokenSource();
        var run = StageRunner.RunAsync(Channel<T>(topic).Reader, stage, 64, _ => { }, cts.Token);
        return new Running(cts, run);
    }

    private Channel<T> Channel<T>(string topic) => (Channel<T>)_channels[topic];

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Running(CancellationTokenSource cts, Task run) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await cts.CancelAsync();
            try
            {
                await run;
            }
            catch (OperationCanceledException)
            {
                // stopped as asked
            }
            cts.Dispose();
        }
    }
}

/// <summary>The distributed transport on the real 0.9 broker: one publisher per bus, a <see cref="KafkaStageHost{T}"/> per stage.</summary>
public sealed class KafkaBus : ITestBus
{
    private readonly KafkaOptions _options;
    private readonly KafkaPublisher _publisher;

    public KafkaBus(KafkaOptions? options = null)
    {
        _options = options ?? TestServers.Kafka();
        _publisher = new KafkaPublisher(_options);
    }

    public KafkaPublisher Publisher => _publisher;

    public KafkaOptions Options => _options;

    public Task CreateTopicAsync<T>(string topic) =>
        _options.LegacyBroker09 ? TestServers.CreateTopicAsync(topic, bootstrap: _options.BootstrapServers) : CreateOnMockClusterAsync(topic);

    /// <summary>The mock cluster has no controller for CreateTopics but creates a topic a producer asks metadata for.</summary>
    private async Task CreateOnMockClusterAsync(string topic)
    {
        using var admin = new DependentAdminClientBuilder(_publisher.Handle).Build();
        await Wait.UntilAsync(() => admin.GetMetadata(topic, TimeSpan.FromSeconds(5)).Topics.Any(t => t.Topic == topic && t.Partitions.Count > 0),
            $"mock topic {topic}", 30);
    }

    public IMessageSink<T> Sink<T>(string topic, IMessageCodec<T> codec) => new KafkaMessageSink<T>(_publisher, codec, topic);

    public Task FlushAsync() => _publisher.DrainAsync(CancellationToken.None);

    public IAsyncDisposable Run<T>(string topic, string group, IMessageCodec<T> codec, IStage<T> stage) =>
        Run(new StageHostSettings(topic, group), codec, stage);

    /// <param name="outbox">the outbox the stage's sinks write into, if they do</param>
    /// <param name="logger">where the host logs (nowhere by default)</param>
    public RunningHost<T> Run<T>(StageHostSettings settings, IMessageCodec<T> codec, IStage<T> stage, KafkaOutbox? outbox = null, ILogger? logger = null)
    {
        var host = new KafkaStageHost<T>(_options, settings, codec, stage, _publisher, logger ?? NullLogger.Instance, outbox);
        var cts = new CancellationTokenSource();
        return new RunningHost<T>(host, cts, host.RunAsync(cts.Token));
    }

    public ValueTask DisposeAsync()
    {
        _publisher.Dispose();
        return ValueTask.CompletedTask;
    }

    public sealed class RunningHost<T>(KafkaStageHost<T> host, CancellationTokenSource cts, Task run) : IAsyncDisposable
    {
        public KafkaStageHost<T> Host => host;

        public async ValueTask DisposeAsync()
        {
            await cts.CancelAsync();
            await run;
            host.Dispose();
            cts.Dispose();
        }
    }
}

/// <summary>A stage that records what it is handed, optionally forwarding a transformed copy.</summary>
public sealed class RecordingStage<T>(Func<T, ValueTask>? forward = null) : IStage<T>
{
    private readonly ConcurrentQueue<T> _received = new();

    public IReadOnlyList<T> Received => [.. _received];

    public int Count => _received.Count;

    public Func<T, bool>? Reject { get; init; }

    /// <summary>After this many messages every call fails as an outage would (not a rejection: the host retries).</summary>
    public int? FailAfter { get; init; }

    public async ValueTask HandleAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken)
    {
        foreach (var message in batch)
        {
            if (Reject?.Invoke(message) == true) throw new MessageRejectedException($"test rejects {message}");
            if (_received.Count >= FailAfter) throw new InvalidOperationException("simulated outage");
            _received.Enqueue(message);
            if (forward is not null) await forward(message);
        }
    }
}

public static class Wait
{
    /// <summary>Polls until <paramref name="done"/> holds; fails naming <paramref name="what"/> after <paramref name="seconds"/> (a deadline, not a speed assertion).</summary>
    public static Task UntilAsync(Func<bool> done, string what, double seconds = 60) =>
        UntilAsync(() => Task.FromResult(done()), what, seconds);

    public static async Task UntilAsync(Func<Task<bool>> done, string what, double seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await done())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"timed out after {seconds} s waiting for {what}");
            await Task.Delay(50);
        }
    }
}
