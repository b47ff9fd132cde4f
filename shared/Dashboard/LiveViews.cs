using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Streaming.Alerts;
using Streaming.Tenancy;
using Streaming.Timelines;

namespace Streaming.Dashboard;

/// <summary>The dashboard's settings: the model's labels in probability order (the host knows them).</summary>
public sealed class DashboardOptions(IReadOnlyList<string> labels)
{
    public IReadOnlyList<string> Labels { get; } = labels;
}

/// <summary>
/// The live streams. Each reads what changed from the store when <see cref="LiveUpdates"/> says a call changed, so what a
/// client gets depends only on the store and its own cursor: a reconnect with <c>Last-Event-ID</c> continues exactly where
/// the last delivered event stopped.
/// </summary>
public sealed class LiveViews(ITimelineStore store, IAlertStore alerts, LiveUpdates live, TimelineBuilder builder, DashboardOptions options)
{
    private readonly int _angryIndex = options.Labels.ToList().IndexOf("angry");

    /// <summary>
    /// The calls wall: <c>snapshot</c> (every active call) on connect and after a resync, then <c>call</c> when one changes and
    /// <c>ended</c> when one ends. Events carry whole rows, so a reconnect needs no cursor: it starts with a snapshot.
    /// </summary>
    public async IAsyncEnumerable<SseItem<string>> WallAsync(Tenant tenant, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var subscription = live.Subscribe(tenant.Id, null);
        var shown = new HashSet<string>(StringComparer.Ordinal);
        var resync = true;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (resync)
            {
                var rows = new List<WallCall>();
                foreach (var info in await store.ListCallsAsync(tenant.Id, cancellationToken).ConfigureAwait(false))
                    if (info.IsActive && await RowAsync(tenant.Id, info.CallId, null, cancellationToken).ConfigureAwait(false) is { Active: true } row) rows.Add(row);
                shown = [.. rows.Select(r => r.CallId)];
                yield return DashboardEndpoints.Event("snapshot", rows);
            }
            var changed = await subscription.NextAsync(DashboardEndpoints.KeepAlive, cancellationToken).ConfigureAwait(false);
            resync = subscription.TakeOverflow();
            if (resync) continue;
            if (changed.Count == 0) yield return DashboardEndpoints.Event("ping", 0);
            foreach (var callId in changed)
            {
                var row = await RowAsync(tenant.Id, callId, subscription.LastNotifiedAt, cancellationToken).ConfigureAwait(false);
                if (row is { Active: true })
                {
                    shown.Add(callId);
                    yield return DashboardEndpoints.Event("call", row);
                }
                else if (shown.Remove(callId)) yield return DashboardEndpoints.Event("ended", new { callId });
            }
        }
    }

    /// <summary>
    /// One call: <c>call</c> (speakers, live or ended, agent policy), <c>window</c> for every window not yet sent (id = the
    /// cursor after it), <c>summary</c> after new windows, <c>alerts</c> (the call's whole alert list) when it changes,
    /// <c>resync</c> before everything is sent again (an unreadable cursor, or a buffer overflow), <c>notfound</c>.
    /// </summary>
    public async IAsyncEnumerable<SseItem<string>> CallAsync(Tenant tenant, string callId, string? lastEventId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var subscription = live.Subscribe(tenant.Id, callId);
        var cursor = Cursor.TryParse(lastEventId, out var parsed) ? parsed : new Cursor();
        var resync = lastEventId is not null && cursor.IsEmpty;
        string? header = null, alertList = null;
        long? storedAt = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            var call = await store.GetCallAsync(tenant.Id, callId, cancellationToken).ConfigureAwait(false);
            if (call is null)
            {
                if (header is null) yield return DashboardEndpoints.Event("notfound", new { callId });
                header = "";
            }
            else
            {
                if (resync)
                {
                    cursor = new Cursor();
                    yield return DashboardEndpoints.Event("resync", new { callId });
                }
                var callHeader = DashboardEndpoints.Event("call", LiveModels.Header(call, CallAssignment.From(call.Metadata), tenant.CustomerOnly));
                if (callHeader.Data != header)
                {
                    header = callHeader.Data;
                    yield return callHeader;
                }
                var sent = false;
                foreach (var speaker in call.Speakers)
                {
                    var from = cursor.Next(speaker.Speaker);
                    var fresh = speaker.Windows.Where(w => w.Index >= from).ToList();
                    if (fresh.Count == 0) continue;
                    var timeline = builder.BuildSpeaker(speaker.Speaker, speaker.Role, fresh, speaker.IsComplete);
                    foreach (var window in timeline.Windows)
                    {
                        cursor = cursor.After(speaker.Speaker, window.Index);
                        sent = true;
                        yield return DashboardEndpoints.Event("window", new WindowEvent(speaker.Speaker, speaker.Role.ToString(), window, storedAt), cursor.ToString());
                    }
                }
                if (sent) yield return DashboardEndpoints.Event("summary", builder.BuildCall(call, "", "").Summary);
                var callAlerts = DashboardEndpoints.Event("alerts", await alerts.ListAsync(tenant.Id, callId, cancellationToken).ConfigureAwait(false));
                if (callAlerts.Data != alertList)
                {
                    alertList = callAlerts.Data;
                    yield return callAlerts;
                }
            }
            var changed = await subscription.NextAsync(DashboardEndpoints.KeepAlive, cancellationToken).ConfigureAwait(false);
            resync = subscription.TakeOverflow();
            storedAt = changed.Count > 0 ? subscription.LastNotifiedAt : null;
            if (changed.Count == 0 && !resync) yield return DashboardEndpoints.Event("ping", 0);
        }
    }

    private async Task<WallCall?> RowAsync(string tenant, string callId, long? storedAt, CancellationToken cancellationToken)
    {
        var call = await store.GetCallAsync(tenant, callId, cancellationToken).ConfigureAwait(false);
        if (call is null) return null;
        var callAlerts = await alerts.ListAsync(tenant, callId, cancellationToken).ConfigureAwait(false);
        return LiveModels.Wall(call, null, CallAssignment.From(call.Metadata), callAlerts, builder, _angryIndex, storedAt);
    }

    /// <summary>
    /// Where a call's stream stopped: per speaker, the next window index to send. Written as the event id
    /// (<c>customer=12&amp;agent=10</c>, names percent-encoded) and read back from <c>Last-Event-ID</c>.
    /// </summary>
    internal readonly record struct Cursor(IReadOnlyDictionary<string, long>? Positions)
    {
        public bool IsEmpty => Positions is null || Positions.Count == 0;

        public long Next(string speaker) => Positions?.GetValueOrDefault(speaker) ?? 0;

        public Cursor After(string speaker, long index) =>
            new(new Dictionary<string, long>(Positions ?? new Dictionary<string, long>(), StringComparer.Ordinal) { [speaker] = index + 1 });

        public override string ToString() => string.Join('&', (Positions ?? new Dictionary<string, long>()).OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => $"{Uri.EscapeDataString(p.Key)}={p.Value.ToString(CultureInfo.InvariantCulture)}"));

        public static bool TryParse(string? text, out Cursor cursor)
        {
            cursor = new Cursor();
            if (string.IsNullOrEmpty(text) || text.Length > 4096) return false;
            var positions = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var part in text.Split('&'))
            {
                var eq = part.IndexOf('=');
                if (eq <= 0 || !long.TryParse(part.AsSpan(eq + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var next)) return false;
                positions[Uri.UnescapeDataString(part[..eq])] = next;
            }
            cursor = new Cursor(positions);
            return true;
        }
    }
}
