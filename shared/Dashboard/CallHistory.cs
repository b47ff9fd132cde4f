using System.Globalization;
using System.Text;
using Streaming.Alerts;
using Streaming.Timelines;

namespace Streaming.Dashboard;

/// <summary>The filters of <c>GET /api/calls</c>; every one optional.</summary>
public sealed record CallQuery(DateTimeOffset? From, DateTimeOffset? To, string? Agent, string? Queue, string? Emotion, string? State, string? Cursor, int Limit);

/// <summary>
/// The tenant's calls, newest first, filtered and paged. The cursor is opaque to clients (the last call's update time and id):
/// a page starts strictly after it, so paging never repeats or skips a call that did not change in between.
/// </summary>
public sealed class CallHistory(ITimelineStore store, IAlertStore alerts, TimelineBuilder builder)
{
    public const int MaxLimit = 500;

    public async Task<HistoryPage> QueryAsync(string tenant, CallQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        var after = DecodeCursor(query.Cursor);
        var page = new List<HistoryCall>(query.Limit);
        CallInfo? last = null;
        var calls = (await store.ListCallsAsync(tenant, cancellationToken).ConfigureAwait(false))
            .OrderByDescending(c => c.LastUpdate).ThenBy(c => c.CallId, StringComparer.Ordinal);
        foreach (var info in calls)
        {
            if (after is { } a && (info.LastUpdate > a.Time || (info.LastUpdate == a.Time && string.CompareOrdinal(info.CallId, a.CallId) <= 0))) continue;
            if (query.State == "ended" && info.IsActive || query.State == "active" && !info.IsActive) continue;
            if (query.From is { } from && info.LastUpdate < from || query.To is { } to && info.LastUpdate > to) continue;
            // Agent and queue come with the call index's entry (Redis: the call's meta hash), before the windows are read.
            var assignment = CallAssignment.From(info.Metadata);
            if (query.Agent is { Length: > 0 } agent && assignment?.AgentId != agent) continue;
            if (query.Queue is { Length: > 0 } queue && assignment?.Queue != queue) continue;
            if (page.Count == query.Limit) return new HistoryPage(page, EncodeCursor(last!));
            var call = await store.GetCallAsync(tenant, info.CallId, cancellationToken).ConfigureAwait(false);
            if (call is null) continue;
            var customer = LiveModels.Customer(call);
            var dominant = customer is null ? null
                : builder.Summarize(builder.BuildSpeaker(customer.Speaker, customer.Role, customer.Windows, customer.IsComplete)).DominantEmotion;
            if (query.Emotion is { Length: > 0 } emotion && dominant != emotion) continue;
            var callAlerts = await alerts.ListAsync(tenant, info.CallId, cancellationToken).ConfigureAwait(false);
            page.Add(new HistoryCall(info.CallId, info.IsActive, info.LastUpdate, assignment?.AgentId, assignment?.Queue, dominant,
                Math.Round(LiveModels.AngrySeconds(builder, customer), 1), callAlerts.Count));
            last = info;
        }
        return new HistoryPage(page, null);
    }

    private static string EncodeCursor(CallInfo info) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{info.LastUpdate.UtcTicks.ToString(CultureInfo.InvariantCulture)}|{info.CallId}"))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The cursor's position; a cursor that is not one of ours is a client error (<see cref="FormatException"/>).</summary>
    private static (DateTimeOffset Time, string CallId)? DecodeCursor(string? cursor)
    {
        if (string.IsNullOrEmpty(cursor)) return null;
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=')));
            var bar = text.IndexOf('|');
            return (new DateTimeOffset(long.Parse(text[..bar], NumberStyles.None, CultureInfo.InvariantCulture), TimeSpan.Zero), text[(bar + 1)..]);
        }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
        {
            throw new FormatException($"cursor '{cursor}' is not one this API returned", e);
        }
    }
}
