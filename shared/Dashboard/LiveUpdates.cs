using System.Threading.Channels;

namespace Streaming.Dashboard;

/// <summary>
/// Tells live views which calls changed (a window stored, a stream ended, an alert fired or was acknowledged). A notification
/// carries only the call id: a view reads what is new from the store by its own cursor, so a dropped or merged notification
/// loses nothing. Each subscriber has a bounded buffer; <see cref="Publish"/> never waits for a subscriber, and one that falls
/// more than <see cref="SubscriberCapacity"/> notifications behind is marked for a resync (it re-reads everything) instead
/// of growing its buffer. A slow browser therefore never holds the pipeline.
/// </summary>
public sealed class LiveUpdates(TimeProvider? time = null)
{
    public const int SubscriberCapacity = 256;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<Subscription>> _byTenant = new(StringComparer.Ordinal);

    public void Publish(string tenant, string callId)
    {
        Subscription[] subscribers;
        lock (_lock)
        {
            if (!_byTenant.TryGetValue(tenant, out var list)) return;
            subscribers = [.. list];
        }
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var subscriber in subscribers)
            if (subscriber.CallId is null || subscriber.CallId == callId) subscriber.Notify(callId, now);
    }

    /// <summary>Notifications for one call of the tenant, or (<paramref name="callId"/> null) for all its calls. Dispose to stop.</summary>
    public Subscription Subscribe(string tenant, string? callId)
    {
        var subscription = new Subscription(this, tenant, callId);
        lock (_lock)
        {
            if (!_byTenant.TryGetValue(tenant, out var list)) _byTenant[tenant] = list = [];
            list.Add(subscription);
        }
        return subscription;
    }

    public int Subscribers
    {
        get
        {
            lock (_lock) return _byTenant.Values.Sum(l => l.Count);
        }
    }

    private void Remove(Subscription subscription)
    {
        lock (_lock)
        {
            if (!_byTenant.TryGetValue(subscription.Tenant, out var list)) return;
            list.Remove(subscription);
            if (list.Count == 0) _byTenant.Remove(subscription.Tenant);
        }
    }

    public sealed class Subscription : IDisposable
    {
        private readonly LiveUpdates _owner;
        private readonly Channel<string> _changes = Channel.CreateBounded<string>(new BoundedChannelOptions(SubscriberCapacity)
        {
            // Wait mode, but only TryWrite is used: it fails when full (the drop modes would report success and drop silently).
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        private int _overflowed;
        private long _lastNotifiedAt;

        internal Subscription(LiveUpdates owner, string tenant, string? callId)
        {
            _owner = owner;
            Tenant = tenant;
            CallId = callId;
        }

        public string Tenant { get; }

        public string? CallId { get; }

        /// <summary>Unix ms of the latest notification: when the newest change was stored (the push latency starts there).</summary>
        public long LastNotifiedAt => Interlocked.Read(ref _lastNotifiedAt);

        /// <summary>Notifications waiting (at most <see cref="SubscriberCapacity"/>).</summary>
        public int Pending => _changes.Reader.Count;

        internal void Notify(string callId, long now)
        {
            Interlocked.Exchange(ref _lastNotifiedAt, now);
            if (!_changes.Writer.TryWrite(callId)) Interlocked.Exchange(ref _overflowed, 1);
        }

        /// <summary>True once after the buffer overflowed: the reader must re-read everything instead of trusting the ids it got.</summary>
        public bool TakeOverflow() => Interlocked.Exchange(ref _overflowed, 0) == 1;

        /// <summary>Waits for at least one notification (or the timeout) and returns the distinct call ids waiting.</summary>
        public async Task<IReadOnlySet<string>> NextAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(timeout);
            try
            {
                await _changes.Reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // the timeout: the caller sends a keep-alive
            }
            var ids = new HashSet<string>(StringComparer.Ordinal);
            while (_changes.Reader.TryRead(out var id)) ids.Add(id);
            return ids;
        }

        public void Dispose() => _owner.Remove(this);
    }
}
