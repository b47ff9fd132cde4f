using System.Net.ServerSentEvents;
using System.Reflection;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Streaming.Alerts;
using Streaming.Archive;
using Streaming.Tenancy;
using Streaming.Timelines;

namespace Streaming.Dashboard;

/// <summary>
/// The supervisor's endpoints, the same in every host (<c>serve</c> and the aggregator): the dashboard's files, the live
/// streams (Server-Sent Events), alerts and their acknowledgement, and the paged call list. Every <c>/api</c> route needs a
/// tenant's API key and answers for that tenant only. Schemas in docs/dashboard.md.
/// </summary>
public static class DashboardEndpoints
{
    /// <summary>A keep-alive event this often on a quiet stream: proxies keep the connection, and a gone client is noticed.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        // One route for "/dashboard" and "/dashboard/" (routing ignores a trailing slash): the page's relative links need the slash.
        app.MapGet("/dashboard/{file?}", (string? file, HttpContext context) =>
            file is null && !context.Request.Path.Value!.EndsWith('/') ? Results.Redirect("/dashboard/") : Asset(file ?? "index.html"));

        var api = app.MapGroup("/api").RequireAuthorization();
        api.MapGet("/session", (HttpContext context, DashboardOptions options) =>
        {
            var tenant = context.GetTenant()!;
            return TypedResults.Ok(new { tenant = tenant.Id, labels = options.Labels, customerOnly = tenant.CustomerOnly });
        });
        api.MapGet("/live/calls", (HttpContext context, LiveViews views, CancellationToken ct) =>
            TypedResults.ServerSentEvents(views.WallAsync(context.GetTenant()!, ct)));
        api.MapGet("/live/calls/{callId}", (string callId, HttpContext context, LiveViews views, CancellationToken ct) =>
            TypedResults.ServerSentEvents(views.CallAsync(context.GetTenant()!, callId, context.Request.Headers["Last-Event-ID"].FirstOrDefault(), ct)));
        api.MapGet("/calls/{callId}/alerts", async (string callId, HttpContext context, IAlertStore alerts, CancellationToken ct) =>
            TypedResults.Ok(await alerts.ListAsync(context.GetTenant()!.Id, callId, ct)));
        api.MapPost("/calls/{callId}/alerts/{alertId}/ack", async Task<IResult> (string callId, string alertId, HttpContext context, IAlertStore alerts,
            LiveUpdates live, CancellationToken ct) =>
        {
            var tenant = context.GetTenant()!.Id;
            // Who acknowledged: the authenticated name (the tenant for an API key; the person once OIDC signs supervisors in).
            var by = context.User.Identity?.Name ?? tenant;
            if (await alerts.AcknowledgeAsync(tenant, callId, alertId, by, ct) is not { } alert)
                return TypedResults.Problem($"call '{callId}' has no alert '{alertId}'", statusCode: StatusCodes.Status404NotFound);
            live.Publish(tenant, callId);
            return TypedResults.Ok(alert);
        });
        api.MapGet("/calls", async Task<IResult> (HttpContext context, CallHistory history, DateTimeOffset? from, DateTimeOffset? to, string? agent,
            string? queue, string? emotion, string? state, string? cursor, int? limit, CancellationToken ct) =>
        {
            if (limit is < 1 or > CallHistory.MaxLimit)
                return TypedResults.Problem($"limit must be 1-{CallHistory.MaxLimit}", statusCode: StatusCodes.Status400BadRequest);
            if (state is not (null or "active" or "ended" or "all"))
                return TypedResults.Problem($"state '{state}' is not one of active, ended, all", statusCode: StatusCodes.Status400BadRequest);
            try
            {
                return TypedResults.Ok(await history.QueryAsync(context.GetTenant()!.Id,
                    new CallQuery(from, to, agent, queue, emotion, state, cursor, limit ?? 100), ct));
            }
            catch (FormatException e)
            {
                return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
            }
        });
        api.MapGet("/export", async Task<IResult> (HttpContext context, ITimelineStore store, DashboardOptions options, IOptions<ExportOptions> limits,
            DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct) =>
        {
            if (from > to) return TypedResults.Problem($"from ({from:O}) is after to ({to:O})", statusCode: StatusCodes.Status400BadRequest);
            var tenant = context.GetTenant()!.Id;
            var max = limits.Value.MaxWindows;
            var rows = new List<WindowRow>();
            foreach (var info in await store.ListCallsAsync(tenant, ct))
            {
                if (info.IsActive || from is { } f && info.LastUpdate < f || to is { } t && info.LastUpdate > t) continue;
                if (await store.GetCallAsync(tenant, info.CallId, ct) is { } call) rows.AddRange(ParquetArchive.Rows(tenant, call));
                // Checked after each call, so the memory held is at most the limit and one call.
                if (rows.Count > max)
                    return TypedResults.Problem($"the export holds more than {max} windows, the limit ({ExportOptions.Section}:{nameof(ExportOptions.MaxWindows)}): " +
                        "narrow the range with from and to (ISO-8601, on each call's last update), or run the export command, which writes one file per call",
                        statusCode: StatusCodes.Status413PayloadTooLarge);
            }
            var file = new MemoryStream();
            await ParquetArchive.WriteAsync(rows, options.Labels, file, ct);
            file.Position = 0;
            return TypedResults.File(file, "application/vnd.apache.parquet", $"{tenant}-calls.parquet");
        });
        return app;
    }

    private static IResult Asset(string file)
    {
        var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("dashboard/" + file);
        if (stream is null) return Results.NotFound();
        var type = Path.GetExtension(file) switch
        {
            ".html" => "text/html; charset=utf-8",
            ".js" => "text/javascript; charset=utf-8",
            ".css" => "text/css; charset=utf-8",
            _ => "application/octet-stream",
        };
        return Results.Stream(stream, type);
    }

    internal static SseItem<string> Event<T>(string type, T data, string? id = null) =>
        new(JsonSerializer.Serialize(data, Json), type) { EventId = id };
}
