using System.Diagnostics;
using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Streaming.Contracts;

namespace Streaming.Messaging.Kafka;

/// <summary>What a host needs to know about a stage besides its input.</summary>
/// <param name="IdleStreamTimeout">
/// For a resumable stage: a stream of which nothing arrived for this long, while its partition was read up to date, is ended
/// (<see cref="IResumableStage{T}.EndStreamAsync"/>); null: streams are kept until their final message.
/// </param>
public sealed record StageHostSettings(string Topic, string GroupId, TimeSpan? IdleStreamTimeout = null);

/// <summary>
/// Runs one <see cref="IStage{T}"/> on a Kafka topic: a blocking Consume loop on its own long-running thread,
/// batches of whatever is ready handed to the stage in partition order, offsets stored only after the stage
/// returned and everything it published is acknowledged (at-least-once; stages and the timeline store are idempotent).
/// Undecodable and rejected messages go to the dead-letter topic with the reason; any other failure (Redis down,
/// broker unreachable) retries the same batch without storing offsets and reports the host unhealthy meanwhile.
/// <para>
/// For an <see cref="IResumableStage{T}"/> the offset stored per partition is not the end of the batch but the oldest
/// message a live stream of that partition still needs (<see cref="IResumableStage{T}.ResumeSequence"/>): whoever reads
/// the partition next, after a crash, a restart or a rebalance, rebuilds every live stream's state exactly from there.
/// A stream whose end never comes would hold its partition's offset back forever: with <see cref="StageHostSettings.IdleStreamTimeout"/>
/// the host ends it (<see cref="IResumableStage{T}.EndStreamAsync"/>) once nothing of it arrived for that long while the host was
/// healthy and the partition read up to its end (a lagging or failing host, or one cut off from the brokers, counts no idle time:
/// the stream's next message may be in a backlog or on its way), publishes what the end produced like a batch's outputs, and then
/// stores the partition's offset without the stream's hold. A stream whose partition moves is forgotten here with its call; its
/// new owner's idle clock starts when it reads the stream.
/// </para>
/// <para>
/// A consumer whose statistics have not shown its group coordinator for <see cref="KafkaOptions.StalledConsumerSeconds"/> is
/// replaced by a new one from the bootstrap servers: librdkafka drops every broker a Metadata response does not list, and can
/// be left with none for good (librdkafka issue #5301: a one-broker cluster whose broker answers with no brokers while it stops
/// or starts). The old one is disposed without a commit (there is no coordinator), its partitions' streams forgotten as for
/// lost partitions; whoever reads them next starts from the last commit.
/// </para>
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
    private readonly IResumableStage<T>? _resumable;
    /// <summary>Per partition, per live stream: sequence and offset of its messages from the oldest one the stage still needs.</summary>
    private readonly Dictionary<TopicPartition, Dictionary<StreamKey, TrackedStream>> _streams = [];
    private readonly Dictionary<TopicPartition, long> _storeAt = [];
    /// <summary>Per partition, the offset after the last message processed.</summary>
    private readonly Dictionary<TopicPartition, long> _processed = [];
    private readonly List<(TopicPartition Partition, StreamKey Stream)> _idle = [];
    private long _lastIdleCheck = Environment.TickCount64;
    /// <summary>When the consumer's statistics last showed its group coordinator (or the consumer started).</summary>
    private long _coordinatorSeen;
    private readonly List<ConsumeResult<byte[], byte[]>> _results = [];
    private readonly List<ActivityLink> _links = [];
    private readonly List<T> _messages = [];
    private readonly List<ConsumeResult<byte[], byte[]>> _decoded = [];

    /// <param name="outbox">where the stage's sinks write (<see cref="KafkaOutbox.Sink{TOut}"/>); the host publishes it after each batch</param>
    public KafkaStageHost(KafkaOptions options, StageHostSettings settings, IMessageCodec<T> codec, IStage<T> stage,
        KafkaPublisher publisher, ILogger logger, KafkaOutbox? outbox = null)
    {
        _outbox = outbox ?? new KafkaOutbox(publisher);
        _options = options;
        _settings = settings;
        _codec = codec;
        _stage = stage;
        _resumable = stage as IResumableStage<T>;
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
        KafkaInstrumentation.Register(_settings.Topic);
        while (await ConsumeAsync(stoppingToken).ConfigureAwait(false))
        {
            // the consumer had lost its group coordinator for too long: a new one from the bootstrap servers
        }
    }

    /// <summary>
    /// One consumer's life: consumes until <paramref name="stoppingToken"/> is cancelled (false), or until its group
    /// coordinator has been gone for <see cref="KafkaOptions.StalledConsumerSeconds"/> (true: the caller builds a new one).
    /// </summary>
    private async Task<bool> ConsumeAsync(CancellationToken stoppingToken)
    {
        var consumer = new ConsumerBuilder<byte[], byte[]>(_options.ConsumerConfig(_settings.GroupId))
            .SetPartitionsAssignedHandler((_, partitions) => Assigned(partitions))
            .SetPartitionsRevokedHandler((c, partitions) => Revoked(c, partitions.Select(p => p.TopicPartition).ToList()))
            .SetPartitionsLostHandler((_, partitions) => Lost(partitions.Select(p => p.TopicPartition).ToList()))
            .SetErrorHandler((_, error) => BrokerError(error))
            .SetStatisticsHandler((_, json) => Statistics(json))
            .SetLogHandler(KafkaLog.Write)
            .Build();
        consumer.Subscribe(_settings.Topic);
        var metadata = new DependentAdminClientBuilder(consumer.Handle).Build();
        _coordinatorSeen = Environment.TickCount64;
        Status.Running();
        var stalled = false;
        try
        {
            var partitions = new PartitionCountCheck(metadata, _settings.Topic);
            while (!stoppingToken.IsCancellationRequested)
            {
                var lostFor = (Environment.TickCount64 - _coordinatorSeen) / 1000.0;
                if (lostFor >= _options.StalledConsumerSeconds)
                {
                    LogConsumerStalled(_logger, _settings.Topic, lostFor);
                    stalled = true;
                    return true;
                }
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
                if (first is { IsPartitionEOF: false })
                {
                    _results.Add(first);
                    while (_results.Count < _options.MaxBatch && consumer.Consume(TimeSpan.Zero) is { IsPartitionEOF: false } next) _results.Add(next);

                    if (!await ProcessBatchAsync(stoppingToken).ConfigureAwait(false)) return false;
                    StoreOffsets(consumer);
                    _results.Clear();
                }
                if (!await EndIdleStreamsAsync(consumer, stoppingToken).ConfigureAwait(false)) return false;
            }
            return false;
        }
        catch (Exception e)
        {
            Status.Faulted(e);
            LogFaulted(_logger, e, _settings.Topic);
            throw;
        }
        finally
        {
            metadata.Dispose();
            KafkaInstrumentation.ForgetLag(consumer.Name);
            if (stalled)
            {
                // No coordinator to commit to or to leave: whoever reads these partitions next (this host's next consumer, or
                // another instance once the group drops this member) starts from the last commit, and this host forgets their
                // streams as for lost partitions, so that a stage rebuilds them exactly from there.
                Release([.. _processed.Keys.Union(_streams.Keys)]);
            }
            else
            {
                Status.Stopped();
                try
                {
                    consumer.Close(); // commits stored offsets and leaves the group, so the partitions move at once
                }
                catch (KafkaException e)
                {
                    LogStoreFailed(_logger, _settings.Topic, e.Error.Reason);
                }
            }
            consumer.Dispose();
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
        foreach (var result in _results)
        {
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
        if (!await DeliverAsync(() => _messages.Count > 0 ? HandleAsync() : Task.CompletedTask, stoppingToken).ConfigureAwait(false)) return false;
        KafkaInstrumentation.Consumed.Add(_results.Count, new KeyValuePair<string, object?>("topic", _settings.Topic));
        return true;
    }

    /// <summary>
    /// Runs <paramref name="handle"/> (the stage, writing into the outbox) once, then produces the outbox until all of it is
    /// acknowledged. False when stopping interrupted a retry.
    /// </summary>
    private async Task<bool> DeliverAsync(Func<Task> handle, CancellationToken stoppingToken)
    {
        var handled = false;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                // What is in hand is finished even when stopping: graceful shutdown commits it instead of redoing it.
                if (!handled) await handle().ConfigureAwait(false);
                handled = true;
                await _outbox.ProduceAllAsync(CancellationToken.None).ConfigureAwait(false);
                await _publisher.DrainAsync(CancellationToken.None).ConfigureAwait(false);
                _outbox.Clear();
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

    /// <summary>librdkafka's statistics (every 5 s): the broker link for health, the group coordinator for <see cref="ConsumeAsync"/>, the lag per partition for metrics.</summary>
    private void Statistics(string json)
    {
        Status.Brokers(KafkaStatistics.AnyBrokerUp(json));
        if (KafkaStatistics.GroupCoordinatorUp(json)) _coordinatorSeen = Environment.TickCount64;
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

    /// <summary>
    /// Stores, per partition of the batch, the offset the next reader starts from: after the batch, or, for a resumable
    /// stage, at the oldest message a live stream of the partition still needs (never later than after the batch).
    /// </summary>
    private void StoreOffsets(IConsumer<byte[], byte[]> consumer)
    {
        _storeAt.Clear();
        foreach (var result in _results) _storeAt[result.TopicPartition] = _processed[result.TopicPartition] = result.Offset.Value + 1;
        if (_resumable is not null)
        {
            for (var i = 0; i < _decoded.Count; i++) Track(_decoded[i], _messages[i]);
            foreach (var partition in _storeAt.Keys)
            {
                if (OldestNeeded(partition) is { } oldest && oldest < _storeAt[partition]) _storeAt[partition] = oldest;
            }
        }
        foreach (var (partition, offset) in _storeAt) StoreOffset(consumer, partition, offset);
    }

    private void StoreOffset(IConsumer<byte[], byte[]> consumer, TopicPartition partition, long offset)
    {
        try
        {
            consumer.StoreOffset(new TopicPartitionOffset(partition, offset));
        }
        catch (KafkaException e)
        {
            // The partition moved while the batch was retrying: its new owner redelivers from the last commit.
            LogStoreFailed(_logger, partition.ToString(), e.Error.Reason);
        }
    }

    /// <summary>
    /// Ends the streams of which nothing arrived for the idle timeout on partitions read up to their end (checked once a second),
    /// delivers what their ends produced, then stores those partitions' offsets without the ended streams' hold. False when
    /// stopping interrupted the delivery.
    /// </summary>
    private async Task<bool> EndIdleStreamsAsync(IConsumer<byte[], byte[]> consumer, CancellationToken stoppingToken)
    {
        if (_resumable is null || _settings.IdleStreamTimeout is not { } timeout) return true;
        var now = Environment.TickCount64;
        var elapsed = now - _lastIdleCheck;
        if (elapsed < 1000) return true;
        _lastIdleCheck = now;
        // The idle clock runs only while the host is healthy (brokers reachable, batches going through): a broker outage stops
        // every stream at once, and its calls go on when it ends (ingest pushes back on the platforms meanwhile).
        if (!Status.IsHealthy) return true;
        _idle.Clear();
        foreach (var (partition, streams) in _streams)
        {
            if (!ReadToEnd(consumer, partition)) continue;
            foreach (var (stream, tracked) in streams)
            {
                tracked.IdleMs += elapsed;
                if (tracked.IdleMs >= timeout.TotalMilliseconds) _idle.Add((partition, stream));
            }
        }
        if (_idle.Count == 0) return true;

        _outbox.Clear();
        var ended = await DeliverAsync(async () =>
        {
            foreach (var (_, stream) in _idle)
            {
                using var scope = _logger.BeginScope(new StreamLogScope(stream));
                LogIdleStreamEnded(_logger, _settings.Topic, timeout.TotalSeconds);
                await _resumable.EndStreamAsync(stream, CancellationToken.None).ConfigureAwait(false);
            }
        }, stoppingToken).ConfigureAwait(false);
        if (!ended) return false;
        foreach (var partition in _idle.Select(i => i.Partition).Distinct())
        {
            var offset = _processed[partition];
            if (OldestNeeded(partition) is { } oldest && oldest < offset) offset = oldest;
            StoreOffset(consumer, partition, offset);
        }
        return true;
    }

    /// <summary>
    /// Whether everything the broker had of the partition at the last fetch has been processed: only then can a stream's silence
    /// be told from a backlog (or a host stuck retrying) in which its next messages wait.
    /// </summary>
    private static bool ReadToEnd(IConsumer<byte[], byte[]> consumer, TopicPartition partition)
    {
        var position = consumer.Position(partition);
        var end = consumer.GetWatermarkOffsets(partition).High;
        return position != Offset.Unset && end != Offset.Unset && position.Value >= end.Value;
    }

    /// <summary>Notes a message's offset under its stream (the first copy of each sequence: the one the stage took).</summary>
    private void Track(ConsumeResult<byte[], byte[]> result, T message)
    {
        if (!_streams.TryGetValue(result.TopicPartition, out var streams)) _streams[result.TopicPartition] = streams = [];
        var stream = _resumable!.StreamOf(message);
        if (!streams.TryGetValue(stream, out var tracked)) streams[stream] = tracked = new TrackedStream();
        tracked.IdleMs = 0;
        var offsets = tracked.Offsets;
        var sequence = _codec.Sequence(message);
        if (offsets.Count == 0 || sequence > offsets[^1].Sequence) offsets.Add((sequence, result.Offset.Value));
    }

    /// <summary>The oldest offset a live stream of the partition needs; streams the stage holds no state of are forgotten.</summary>
    private long? OldestNeeded(TopicPartition partition)
    {
        if (!_streams.TryGetValue(partition, out var streams)) return null;
        long? oldest = null;
        foreach (var (stream, tracked) in streams)
        {
            var offsets = tracked.Offsets;
            if (_resumable!.ResumeSequence(stream) is not { } needed)
            {
                streams.Remove(stream);
                continue;
            }
            var first = offsets.FindIndex(o => o.Sequence >= needed);
            offsets.RemoveRange(0, first < 0 ? offsets.Count - 1 : first);
            oldest = Math.Min(oldest ?? long.MaxValue, offsets[0].Offset);
        }
        return oldest;
    }

    /// <summary>Starts each new partition at its committed offset: for a resumable stage, where its live streams' state begins.</summary>
    private List<TopicPartitionOffset> Assigned(List<TopicPartition> partitions)
    {
        LogAssigned(_logger, _settings.Topic, Describe(partitions));
        return partitions.Select(p => new TopicPartitionOffset(p, Offset.Unset)).ToList();
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

    /// <summary>
    /// Forgets partitions this instance no longer owns. Rebalance callbacks run inside <c>Consume</c>, also while a batch
    /// is being gathered: the messages of those partitions gathered so far are dropped with them (their new owner reads
    /// them from the committed offset), so this instance neither processes them with state it no longer has nor
    /// registers their calls again under a partition it does not own.
    /// </summary>
    private void Release(List<TopicPartition> partitions)
    {
        _results.RemoveAll(r => partitions.Contains(r.TopicPartition));
        foreach (var partition in partitions)
        {
            _processed.Remove(partition);
            if (!_streams.Remove(partition, out var streams)) continue;
            foreach (var callId in streams.Keys.Select(s => s.CallId).Distinct()) _resumable!.DropCall(callId);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "{Topic}: revoked partitions [{Partitions}], their calls' state dropped")]
    private static partial void LogRevoked(ILogger logger, string topic, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: lost partitions [{Partitions}], their calls' state dropped")]
    private static partial void LogLost(ILogger logger, string topic, string partitions);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: no group coordinator for {Seconds:F0} s (librdkafka may be left without any broker: issue #5301); a new consumer from the bootstrap servers, its partitions' state dropped")]
    private static partial void LogConsumerStalled(ILogger logger, string topic, double seconds);

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Topic}: nothing of the stream for {IdleSeconds} s while its partition is read up to date: ended as if its final message had come")]
    private static partial void LogIdleStreamEnded(ILogger logger, string topic, double idleSeconds);

    /// <summary>
    /// A live stream's messages from the oldest one the stage still needs, and how long nothing of it arrived (ms) while the host
    /// was healthy and its partition read up to date.
    /// </summary>
    private sealed class TrackedStream
    {
        public List<(long Sequence, long Offset)> Offsets { get; } = [];
        public long IdleMs { get; set; }
    }

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
