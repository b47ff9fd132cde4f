using System.Diagnostics;
using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Streaming.Contracts;

namespace Streaming.Messaging.Kafka;

/// <summary>
/// The process's one Kafka producer. Publishing is fire-and-track: <see cref="PublishAsync{T}"/> enqueues and returns,
/// <see cref="DrainAsync"/> waits until everything enqueued so far is acknowledged by the broker (acks=all) and throws
/// the first delivery error. Consumer hosts drain before storing offsets, which makes the pipeline at-least-once.
/// </summary>
public sealed class KafkaPublisher : IDisposable
{
    private readonly IProducer<byte[], byte[]> _producer;
    private readonly bool _headers;
    private readonly Lock _lock = new();
    private int _inFlight;
    private TaskCompletionSource? _drained;
    private Exception? _error;

    private volatile bool _brokersUp = true;

    public KafkaPublisher(KafkaOptions options)
    {
        _headers = !options.LegacyBroker09;
        var config = options.ProducerConfig();
        config.StatisticsIntervalMs = 5000; // broker connection states for the health check
        _producer = new ProducerBuilder<byte[], byte[]>(config)
            .SetStatisticsHandler((_, json) => _brokersUp = KafkaStatistics.AnyBrokerUp(json))
            .SetLogHandler(KafkaLog.Write)
            .Build();
    }

    /// <summary>False when librdkafka's last statistics (every 5 s) showed no broker connection up.</summary>
    public bool BrokersUp => _brokersUp;

    /// <summary>The librdkafka handle, for an AdminClient that shares the producer's connections.</summary>
    public Handle Handle => _producer.Handle;

    public ValueTask PublishAsync<T>(IMessageCodec<T> codec, T message, CancellationToken cancellationToken) =>
        PublishAsync(codec, codec.Topic, message, cancellationToken);

    public ValueTask PublishAsync<T>(IMessageCodec<T> codec, string topic, T message, CancellationToken cancellationToken) =>
        PublishAsync(codec, topic, message, null, cancellationToken);

    /// <param name="delivered">completed (or faulted) when the broker acknowledges this message</param>
    public ValueTask PublishAsync<T>(IMessageCodec<T> codec, string topic, T message, TaskCompletionSource? delivered, CancellationToken cancellationToken) =>
        ProduceAsync(topic, Build(codec, message), delivered, cancellationToken);

    /// <summary>The Kafka message for <paramref name="message"/>: key, envelope (with the current span) and, on modern brokers, header mirrors.</summary>
    internal Message<byte[], byte[]> Build<T>(IMessageCodec<T> codec, T message)
    {
        var traceParent = Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity ? activity.Id : null;
        var kafkaMessage = new Message<byte[], byte[]>
        {
            Key = Encoding.UTF8.GetBytes(codec.Key(message)),
            Value = codec.Encode(message, traceParent),
        };
        if (_headers)
        {
            // Mirrors of the envelope for tools that read headers; consumers of this project read the envelope.
            kafkaMessage.Headers = new Headers
            {
                { "schema-version", Encoding.ASCII.GetBytes(codec.SchemaVersion.ToString(CultureInfo.InvariantCulture)) },
                { "event-time", Encoding.ASCII.GetBytes(codec.EventTime(message).ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)) },
                { "sequence", Encoding.ASCII.GetBytes(codec.Sequence(message).ToString(CultureInfo.InvariantCulture)) },
            };
            if (traceParent is not null) kafkaMessage.Headers.Add("traceparent", Encoding.ASCII.GetBytes(traceParent));
        }
        return kafkaMessage;
    }

    /// <summary>Publishes a value as it is (dead letters carry the original key and value).</summary>
    public ValueTask PublishRawAsync(string topic, byte[] key, byte[] value, CancellationToken cancellationToken) =>
        ProduceAsync(topic, new Message<byte[], byte[]> { Key = key, Value = value }, null, cancellationToken);

    internal async ValueTask ProduceAsync(string topic, Message<byte[], byte[]> message, TaskCompletionSource? delivered, CancellationToken cancellationToken)
    {
        Action<DeliveryReport<byte[], byte[]>> handler = delivered is null ? OnDelivered : report =>
        {
            OnDelivered(report);
            if (report.Error.IsError) delivered.TrySetException(new KafkaException(report.Error));
            else delivered.TrySetResult();
        };
        while (true)
        {
            Interlocked.Increment(ref _inFlight);
            try
            {
                _producer.Produce(topic, message, handler);
                return;
            }
            catch (ProduceException<byte[], byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                Delivered(null);
                // The local queue is the back-pressure point: wait for the broker to take some of it.
                await Task.Delay(5, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                Delivered(null);
                throw;
            }
        }
    }

    /// <summary>Waits until every message published before this call is acknowledged; throws the first delivery error since the last drain.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        Task? pending = null;
        lock (_lock)
        {
            if (Volatile.Read(ref _inFlight) > 0)
            {
                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                pending = _drained.Task;
            }
        }
        if (pending is not null) await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        var error = Interlocked.Exchange(ref _error, null);
        if (error is not null) throw error;
    }

    private void OnDelivered(DeliveryReport<byte[], byte[]> report) =>
        Delivered(report.Error.IsError ? new KafkaException(report.Error) : null);

    private void Delivered(Exception? error)
    {
        if (error is not null) Interlocked.CompareExchange(ref _error, error, null);
        if (Interlocked.Decrement(ref _inFlight) != 0) return;
        lock (_lock)
        {
            if (Volatile.Read(ref _inFlight) != 0) return;
            _drained?.TrySetResult();
            _drained = null;
        }
    }

    public void Dispose()
    {
        // Give queued messages a chance on shutdown; what is still unsent was not committed upstream and will be redelivered.
        _producer.Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }
}

/// <summary>A stage's output as a Kafka topic.</summary>
/// <param name="trackDeliveries">
/// keep track of every message's delivery (<see cref="DeliveredAsync"/>; a sink used by one writer, e.g. one ingested call)
/// </param>
/// <param name="failed">called (on librdkafka's delivery thread) for each tracked message whose delivery failed</param>
public sealed class KafkaMessageSink<T>(KafkaPublisher publisher, IMessageCodec<T> codec, string? topic = null, bool trackDeliveries = false,
    Action<T, Exception>? failed = null) : IMessageSink<T>
{
    private Task _lastDelivery = Task.CompletedTask;
    private Exception? _firstFailure;

    public string Topic { get; } = topic ?? codec.Topic;

    /// <summary>
    /// Completes when every message published through this sink so far is acknowledged; throws the first delivery that failed,
    /// also when later messages were acknowledged. Messages with one key share a partition and are acknowledged in order (one
    /// request in flight on 0.9, idempotence otherwise), so waiting for the last one waits for all of them; but a message can
    /// fail while a later one is delivered (librdkafka fails what is queued for a partition when a metadata answer drops it, and
    /// later messages go out once the partition is back), so each delivery's outcome counts, not only the last one's.
    /// </summary>
    public async Task DeliveredAsync(CancellationToken cancellationToken)
    {
        await _lastDelivery.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (Volatile.Read(ref _firstFailure) is { } error) throw error;
    }

    /// <summary>
    /// Publishes; a tracked sink refuses (throws the failure) once a message of it failed: what follows a message that never
    /// arrived would leave a gap in the stream that the next stage cannot see, so the writer (a call) stops there.
    /// </summary>
    public ValueTask PublishAsync(T message, CancellationToken cancellationToken)
    {
        if (!trackDeliveries) return publisher.PublishAsync(codec, Topic, message, cancellationToken);
        if (Volatile.Read(ref _firstFailure) is { } failure) return ValueTask.FromException(failure);
        var delivered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _lastDelivery = delivered.Task;
        // One continuation per message (a chunk is 200 ms of audio): the outcome of each, not only of the last.
        delivered.Task.ContinueWith(static (task, state) =>
        {
            var (sink, message) = ((KafkaMessageSink<T>, T))state!;
            var error = task.Exception!.InnerException ?? task.Exception;
            Interlocked.CompareExchange(ref sink._firstFailure, error, null);
            sink.Failed(message, error);
        }, (this, message), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return publisher.PublishAsync(codec, Topic, message, delivered, cancellationToken);
    }

    private void Failed(T message, Exception error) => failed?.Invoke(message, error);
}
