using Microsoft.Extensions.Options;
using Streaming.Timelines;

namespace Streaming.Aggregator;

/// <summary>The timeline REST API (schema in docs/distributed.md). Reads go straight to Redis: any aggregator instance answers.</summary>
public static class TimelineApi
{
    public static WebApplication MapTimelineApi(this WebApplication app)
    {
        var api = app.MapGroup("/api/calls");

        api.MapGet("/", async (ITimelineStore store, CancellationToken ct) => Results.Ok(await store.ListCallsAsync(ct)));

        api.MapGet("/{callId}", async (string callId, ITimelineStore store, TimelineBuilder builder, IOptions<TimelineOptions> options, CancellationToken ct) =>
            await store.GetCallAsync(callId, ct) is { } call
                ? Results.Ok(builder.BuildCall(call, options.Value.ModelName, options.Value.ModelVersion))
                : UnknownCall(callId));

        api.MapGet("/{callId}/summary", async (string callId, ITimelineStore store, TimelineBuilder builder, IOptions<TimelineOptions> options, CancellationToken ct) =>
            await store.GetCallAsync(callId, ct) is { } call
                ? Results.Ok(builder.BuildCall(call, options.Value.ModelName, options.Value.ModelVersion).Summary)
                : UnknownCall(callId));

        api.MapGet("/{callId}/speakers/{speaker}", async (string callId, string speaker, ITimelineStore store, TimelineBuilder builder, CancellationToken ct) =>
        {
            var call = await store.GetCallAsync(callId, ct);
            if (call is null) return UnknownCall(callId);
            var windows = call.Speakers.FirstOrDefault(s => s.Speaker == speaker);
            return windows is null
                ? Results.Problem($"call '{callId}' has no speaker '{speaker}'", statusCode: StatusCodes.Status404NotFound)
                : Results.Ok(builder.BuildSpeaker(windows.Speaker, windows.Role, windows.Windows, windows.IsComplete));
        });
        return app;
    }

    private static IResult UnknownCall(string callId) =>
        Results.Problem($"call '{callId}' is unknown (never seen, or older than the retention)", statusCode: StatusCodes.Status404NotFound);
}
