namespace Streaming.Alerts;

/// <summary>
/// Where alerts are kept with their call: in memory in one process, Redis when distributed. Adding is idempotent by
/// <see cref="Alert.Id"/> (the first write wins), so a replayed window never stores an alert twice.
/// </summary>
public interface IAlertStore
{
    /// <summary>Stores the alert; false when one with the same id was already there (nothing changes then).</summary>
    ValueTask<bool> AddAsync(Alert alert, CancellationToken cancellationToken);

    /// <summary>The call's alerts, oldest first; empty when there are none.</summary>
    ValueTask<IReadOnlyList<Alert>> ListAsync(string tenant, string callId, CancellationToken cancellationToken);

    /// <summary>Marks the alert acknowledged (once: a second acknowledgement keeps the first one's name and time); null when unknown.</summary>
    ValueTask<Alert?> AcknowledgeAsync(string tenant, string callId, string alertId, string by, CancellationToken cancellationToken);

    /// <summary>Removes every alert of the tenant's call (GDPR erasure); returns how many there were.</summary>
    ValueTask<int> EraseCallAsync(string tenant, string callId, CancellationToken cancellationToken);
}
