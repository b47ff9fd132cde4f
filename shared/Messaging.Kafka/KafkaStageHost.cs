using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streaming.Contracts;
using Streaming.Pipeline;

namespace Streaming.Messaging.Kafka;

/// <summary>What a host needs to know about a stage besides its input.</summary>
public sealed record StageHostSettings(string Topic, string GroupId)
{
    /// <summary>
    /// Called (on the consume thread, between batches) for each call whose partition this instance no longer owns,
    /// so the stage drops that call's state; the new owner rebuilds it from the uncommitted messages.
    /// </summary>
    public Action<string>? ReleaseCall { get; init; }

    /// <summary>
    /// Messages to re-read before the committed offset of a newly assigned partition. A stage whose per-stream state
    /// spans several messages (the featurizer's frame overlap, the classifier's 3 s window and vote) needs the end of
    /// the stream's history to produce exactly what the previous owner would have; outputs for positions already
    /// handled are dropped downstream (sequence checks, first-write-wins store). Must cover the history needed per
    /// stream times the streams per partition; 0 for stateless stages.
    /// </summary>
    public int WarmupMessages { get; init; }

    /// <summary>A call not seen for this long is forgotten by the partition bookkeeping (its state is long gone).</summary>
    public TimeSpan CallIdleTimeout { get; init; } = TimeSpan.FromMinutes(30);
}

/// <summary>
/// Runs one <see cref="IStage{T}"/> on a Kafka topic: a blocking Consume loop on its own long-running thread,
/// batches of whatever is ready handed to the stage in partition order, offsets stored only after the stage
/// returned and everything it published is acknowledged (at-least-once; stages and the timeline store are idempotent).
/// Undecodable and rejected messages go to the dead-letter topic with the reason; any other failure (Redis down,
/// broker unreachable) retries the same batch without storing offsets and reports the host unhealthy meanwhile.
/// </summary>
public sealed partial class KafkaStageHost<T> : IDisposable
{
    private readonly KafkaOptions _options;
    private readonly StageHostSettings _settings;
    private readonly IMessageCodec<T> _codec;
    private readonly IStage<T> _stage;
    private readonly KafkaPublisher _publisher;
    private readonly KafkaOutbox _outbox;
    private readonly ILogger _logger;
    private readonly Dictionary<TopicPartition, Dictionary<string, long>> _callsByPartition = [];
    private readonly List<ConsumeResult<byte[], byte[]>> _results = [];
    private readonly List<ActivityLink> _links = [];
    private readonly List<T> _messages = [];
    private readonly List<ConsumeResult<byte[], byte[]>> _decoded = [];
    private int _batches;

    /// <param name="outbox">where the stage's sinks write (<see cref="KafkaOutbox.Sink{TOut}"/>); the host publishes it after each batch</param>
    public KafkaStageHost(KafkaOptions options, StageHostSettings settings, IMessageCodec<T> codec, IStage<T> stage,
        KafkaPublisher publisher, ILogger logger, KafkaOutbox? outbox = null)
    {
        _outbox = outbox ?? new KafkaOutbox(publisher);
        _options = options;
        _settings = settings;
        _codec = codec;
        _stage = stage;
        _publisher = publisher;
        _logger = logger;
    }

    public StageHostStatus Status { get; } = new();

    /// <summary>
    /// Consumes until <paramref name="stoppingToken"/> is cancelled. A batch in progress when it is cancelled is
    /// finished and its offsets committed (graceful shutdown); only a batch stuck retrying is abandoned uncommitted.
    /// </summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => RunLoopAsync(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    private async Task RunLoopAsync(CancellationToken stoppingToken)
    {
        using var consumer = new ConsumerBuilder<byte[], byte[]>(_options.ConsumerConfig(_settings.GroupId))
            .SetPartitionsAssignedHandler((c, partitions) => Assigned(c, partitions))
            .SetPartitionsRevokedHandler((c, partitions) => Revoked(c, partitions.Select(p => p.TopicPartition).ToList()))
            .SetPartitionsLostHandler((_, partitions) => Lost(partitions.Select(p => p.TopicPartition).ToList()))
            .SetErrorHandler((_, error) => BrokerError(error))
            .SetStatisticsHandler((_, json) => Statistics(json))
            .SetLogHandler(KafkaLog.Write)
            .Build();
        consumer.Subscribe(_settings.Topic);
        using var metadata = new DependentAdminClientBuilder(consumer.Handle).Build();
        Status.Running();
        KafkaInstrumentation.Register(_settings.Topic);
        try
        {
            var partitions = new PartitionCountCheck(metadata, _settings.Topic);
            while (!stoppingToken.IsCancellationRequested)
            {
                partitions.ThrowIfChanged();
                ConsumeResult<byte[], byte[]> first;
                try
                {
                    // A timeout, not the stopping token, so that the partition check also runs while the topic is quiet.
                    first = consumer.Consume(TimeSpan.FromMilliseconds(500));
                }
                catch (ConsumeException e)
                {
                    LogConsumeError(_logger, _settings.Topic, e.Error.Reason);
                    continue;
                }
                if (first is null || first.IsPartitionEOF) continue;
                _results.Add(first);
                while (_results.Count < _options.MaxBatch && consumer.Consume(TimeSpan.Zero) is { IsPartitionEOF: false } next) _results.Add(next);

                if (!await ProcessBatchAsync(stoppingToken).ConfigureAwait(false)) break;
                foreach (var result in _results)
                {
                    try
                    {
                        consumer.StoreOffset(result);
                    }
                    catch (KafkaException e)
                    {
                        // The partition moved while the batch was retrying: its new owner redelivers from the last commit.
                        LogStoreFailed(_logger, result.TopicPartition.ToString(), e.Error.Reason);
                    }
                }
                _results.Clear();
                if (++_batches % 1000 == 0) ForgetIdleCalls();
            }
        }
        catch (Exception e)
        {
            Status.Faulted(e);
            LogFaulted(_logger, e, _settings.Topic);
            throw;
        }
        finally
        {
            Status.Stopped();
            KafkaInstrumentation.ForgetLag(consumer.Name);
            try
            {
                consumer.Close(); // commits stored offsets and leaves the group, so the partitions move at once
            }
            catch (KafkaException e)
            {
                LogStoreFailed(_logger, _settings.Topic, e.Error.Reason);
            }
        }
    }

    /// <summary>
    /// Decodes, hands the batch to the stage, publishes its outbox and waits until all of it is acknowledged. A failure
    /// retries: the stage again while it has not returned (it skips what it already did), the whole outbox again once it
    /// has. False when stopping interrupted a retry.
    /// </summary>
    private async Task<bool> ProcessBatchAsync(CancellationToken stoppingToken)
    {
        _messages.Clear();
        _decoded.Clear();
        _outbox.Clear();
        var now = Stopwatch.GetTimestamp();
        foreach (var result in _results)
        {
            Remember(result, now);
            try
            {
                _messages.Add(_codec.Decode(result.Message.Value, out _));
                _decoded.Add(result);
            }
            catch (MessageDecodeException e)
            {
                DeadLetter(result, $"undecodable: {e.Message}");
            }
        }

        using var activity = StartActivity();
        var handled = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // The batch in hand is finished even when stopping: graceful shutdown commits it instead of redoing it.
                if (!handled && _messages.Count > 0) await HandleAsync().ConfigureAwait(false);
                handled = true;
                await _outbox.ProduceAllAsync(CancellationToken.None).ConfigureAwait(false);
                await _publisher.DrainAsync(CancellationToken.None).ConfigureAwait(false);
                _outbox.Clear();
                KafkaInstrumentation.Consumed.Add(_results.Count, new KeyValuePair<string, object?>("topic", _settings.Topic));
                Status.Succeeded();
                return true;
            }
            catch (Exception e) when (e is not MessageRejectedException)
            {
                Status.Failing(e);
                KafkaInstrumentation.BatchFailures.Add(1, new KeyValuePair<string, object?>("topic", _settings.Topic));
                LogBatchFailed(_logger, e, _settings.Topic, attempt, _options.RetryBackoffSeconds);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(_options.RetryBackoffSeconds), stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }
        }
    }

    private async Task HandleAsync()
    {
        try
        {
            await _stage.HandleAsync(_messages, CancellationToken.None).ConfigureAwait(false);
            return;
        }
        catch (MessageRejectedException) when (_messages.Count > 1)
        {
            // Find the culprit: one at a time (what the batch already did is skipped by the stage's own idempotence).
        }
        catch (MessageRejectedException e)
        {
            using (Scope(_messages[0])) DeadLetter(_decoded[0], $"rejected: {e.Message}");
            return;
        }
        var single = new T[1];
        for (var i = 0; i < _messages.Count; i++)
        {
            single[0] = _messages[i];
            using var scope = Scope(_messages[i]);
            try
            {
                await _stage.HandleAsync(single, CancellationToken.None).ConfigureAwait(false);
            }
            catch (MessageRejectedException e)
            {
                DeadLetter(_decoded[i], $"rejected: {e.Message}");
            }
        }
    }

    /// <summary>The message's stream as log scope: what is logged while it is handled alone names its tenant, call and stream.</summary>
    private IDisposable? Scope(T message) => message is IStreamMessage m ? _logger.BeginScope(new StreamLogScope(m.Stream)) : null;

    /// <summary>Adds the dead letter to the batch's outbox: it is published, and retried, with the batch's outputs.</summary>
    private void DeadLetter(ConsumeResult<byte[], byte[]> result, string reason)
    {
        var key = result.Message.Key is null ? "" : Encoding.UTF8.GetString(result.Message.Key);
        LogDeadLetter(_logger, result.Topic, result.Partition.Value, result.Offset.Value, key, reason);
        var letter = new DeadLetter(result.Topic, result.Partition.Value, result.Offset.Value, DeadLetterCodec.Truncate(reason),
            result.Message.Key, result.Message.Value, DateTimeOffset.UtcNow);
        _outbox.Add(DeadLetterCodec.Instance, _options.Topic(_options.DeadLetterTopic), letter);
        KafkaInstrumentation.DeadLettered.Add(1, new KeyValuePair<string, object?>("topic", result.Topic));
    }

    /// <summary>librdkafka's statistics (every 5 s): the broker link for health, the lag per partition for metrics.</summary>
    private void Statistics(string json)
    {
        Status.Brokers(KafkaStatistics.AnyBrokerUp(json));
        var (client, lags) = KafkaStatistics.ConsumerLag(json, _settings.GroupId);
        KafkaInstrumentation.ReportLag(client, lags);
    }

    private Activity? StartActivity()
    {
        // One span per batch, parented on the first message's trace and linked to every message's trace (a batch
        // mixes many calls' chunks: without links only the first chunk's journey would be traceable through here).
        // Envelope first: headers do not survive 0.9.
        _links.Clear();
        foreach (var result in _results)
        {
            try
            {
                var envelope = Envelope.Read(result.Message.Value, out _);
                if (envelope.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, out var context)
                    && !_links.Exists(l => l.Context == context))
                    _links.Add(new ActivityLink(context));
            }
            catch (MessageDecodeException)
            {
                // already dead-lettered; no context to link
            }
        }
        var parent = _links.Count > 0 ? _links[0].Context : default;
        var activity = KafkaInstrumentation.Source.StartActivity($"process {_settings.Topic}", ActivityKind.Consumer, parent, links: _links);
        activity?.SetTag("messaging.system", "kafka");
        activity?.SetTag("messaging.destination.name", _settings.Topic);
        activity?.SetTag("messaging.batch.message_count", _results.Count);
        return activity;
    }

    private void Remember(ConsumeResult<byte[], byte[]> result, long now)
    {
        if (_settings.ReleaseCall is null || result.Message.Key is null) return;
        if (!_callsByPartition.TryGetValue(result.TopicPartition, out var calls)) _callsByPartition[result.TopicPartition] = calls = [];
        calls[Encoding.UTF8.GetString(result.Message.Key)] = now;
    }

    /// <summary>Starts each new partition at its committed offset, less <see cref="StageHostSettings.WarmupMessages"/>.</summary>
    private List<TopicPartitionOffset> Assigned(IConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions)
    {
        LogAssigned(_logger, _settings.Topic, Describe(partitions));
        var starts = partitions.Select(p => new TopicPartitionOffset(p, Offset.Unset)).ToList();
        if (_settings.WarmupMessages == 0 || partitions.Count == 0) return starts;
        try
        {
            var committed = consumer.Committed(partitions, TimeSpan.FromSeconds(10));
            for (var i = 0; i < committed.Count; i++)
            {
                var offset = committed[i].Offset;
                if (offset.Value < 0) continue; // nothing committed yet: the partition is read from its start anyway
                var low = consumer.QueryWatermarkOffsets(committed[i].TopicPartition, TimeSpan.FromSeconds(10)).Low;
                starts[starts.FindIndex(s => s.TopicPartition == committed[i].TopicPartition)] =
                    new TopicPartitionOffset(committed[i].TopicPartition, new Offset(Math.Max(low.Value, offset.Value - _settings.WarmupMessages)));
            }
        }
        catch (KafkaException e)
        {
            // Without warm-up the stage still works; only the windows spanning the takeover point may be missing.
            LogWarmupFailed(_logger, _settings.Topic, e.Error.Reason);
        }
        return starts;
    }

    private void Revoked(IConsumer<byte[], byte[]> consumer, List<TopicPartition> partitions)
    {
        LogRevoked(_logger, _settings.Topic, Describe(partitions));
        try
        {
            // Hand the new owner an exact starting point (librdkafka would also commit on revoke, but only later).
            consumer.Commit();
        }
        catch (KafkaException e) when (e.Error.Code == ErrorCode.Local_NoOffset)
        {
            // nothing stored since the last commit
        }
        catch (KafkaException e)
        {
            LogStoreFailed(_logger, _settings.Topic, e.Error.Reason);
        }
        Release(partitions);
    }

    private void Lost(List<TopicPartition> partitions)
    {
        // Lost, not revoked: another member may already own them, so committing is not allowed; just drop the state.
        LogLost(_logger, _settings.Topic, Describe(partitions));
        Release(partitions);
    }

    private void Release(List<TopicPartition> partitions)
    {
        foreach (var partition in partitions)
        {
            if (!_callsByPartition.Remove(partition, out var calls)) continue;
            foreach (var callId in calls.Keys) _settings.ReleaseCall?.Invoke(callId);
        }
    }

    private void ForgetIdleCalls()
    {
        var cutoff = Stopwatch.GetTimestamp() - (long)(_settings.CallIdleTimeout.TotalSeconds * Stopwatch.Frequency);
        foreach (var calls in _callsByPartition.Values)
        {
            foreach (var (callId, seen) in calls)
            {
                if (seen < cutoff) calls.Remove(callId);
            }
        }
    }

    private void BrokerError(Error error)
    {
        LogBrokerError(_logger, _settings.Topic, error.Code.ToString(), error.Reason);
        if (error.IsFatal) Status.Faulted(new KafkaException(error));
    }

    private static string Describe(IEnumerable<TopicPartition> partitions) => string.Join(",", partitions.Select(p => p.Partition.Value));

    public void Dispose() => Status.Stopped();

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}: assigned partitions [{Partitions}]")]
    private static partial void LogAssigned(ILogger logger, string topic, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: warm-up rewind skipped, committed offsets unavailable: {Reason}")]
    private static partial void LogWarmupFailed(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}: revoked partitions [{Partitions}], their calls' state dropped")]
    private static partial void LogRevoked(ILogger logger, string topic, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: lost partitions [{Partitions}], their calls' state dropped")]
    private static partial void LogLost(ILogger logger, string topic, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: consume error: {Reason}")]
    private static partial void LogConsumeError(ILogger logger, string topic, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: Kafka error {Code}: {Reason}")]
    private static partial void LogBrokerError(ILogger logger, string topic, string code, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Where}: offset store/commit failed: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, string where, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Topic}: batch failed (attempt {Attempt}), offsets not stored; retrying in {Backoff} s")]
    private static partial void LogBatchFailed(ILogger logger, Exception error, string topic, int attempt, double backoff);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}[{Partition}]@{Offset} call {CallId}: dead-lettered: {Reason}")]
    private static partial void LogDeadLetter(ILogger logger, string topic, int partition, long offset, string callId, string reason);

    [LoggerMessage(Level = LogLevel.Critical, Message = "{Topic}: consumer loop stopped by an unexpected error")]
    private static partial void LogFaulted(ILogger logger, Exception error, string topic);
}

/// <summary>What health checks read: thread-safe snapshot of a consumer loop's state.</summary>
public sealed class StageHostStatus
{
    private volatile string? _problem = "not started";
    private volatile bool _fatal;
    private volatile bool _brokersDown;

    public bool IsHealthy => Problem is null;

    /// <summary>Null when healthy; otherwise why not.</summary>
    public string? Problem => _problem ?? (_brokersDown ? "no connection to any Kafka broker" : null);

    internal void Brokers(bool up) => _brokersDown = !up;

    internal void Running() => _problem = null;

    internal void Succeeded()
    {
        if (!_fatal) _problem = null;
    }

    internal void Failing(Exception e)
    {
        if (!_fatal) _problem = $"failing: {e.Message}";
    }

    internal void Faulted(Exception e)
    {
        _fatal = true;
        _problem = $"stopped: {e.Message}";
    }

    internal void Stopped()
    {
        if (!_fatal) _problem = "stopped";
    }
}
