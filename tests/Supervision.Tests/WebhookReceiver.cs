using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Streaming.Tests.Supervision;

/// <summary>A real HTTP receiver on 127.0.0.1 (Kestrel) that records every request and answers as the test says.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<Received> _requests = [];
    private readonly Lock _lock = new();

    public sealed record Received(byte[] Body, string? Signature, string? IdempotencyKey, string? ContentType);

    private WebhookReceiver(Func<int, CancellationToken, Task<int>> respond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.MapPost("/hook", async (HttpRequest request, CancellationToken ct) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, ct);
            int attempt;
            lock (_lock)
            {
                _requests.Add(new Received(body.ToArray(), request.Headers["X-Emotion-Signature"], request.Headers["Idempotency-Key"], request.ContentType));
                attempt = _requests.Count;
            }
            return Results.StatusCode(await respond(attempt, ct));
        });
    }

    public Uri Url => new(new Uri(_app.Urls.First()), "/hook");

    public IReadOnlyList<Received> Requests
    {
        get
        {
            lock (_lock) return [.. _requests];
        }
    }

    /// <param name="respond">Status code for the n-th request (1-based); may wait (a hanging receiver).</param>
    public static async Task<WebhookReceiver> StartAsync(Func<int, CancellationToken, Task<int>> respond)
    {
        var receiver = new WebhookReceiver(respond);
        await receiver._app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until the receiver has seen <paramref name="count"/> requests (fails after a minute: the machine may be loaded).</summary>
    public async Task WaitForAsync(int count)
    {
        for (var i = 0; i < 600 && Requests.Count < count; i++) await Task.Delay(100);
        Assert.True(Requests.Count >= count, $"the receiver saw {Requests.Count} requests, expected {count}");
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
