using System.Net;
using System.Net.WebSockets;
using System.Text;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Distributed;

/// <summary>One ingest process with small limits, so each limit is reached in a test's time.</summary>
public sealed class IngestLimitsFixture : IAsyncLifetime
{
    public const string ApiKey = "limits-api-key-0123456789";
    public const int MaxConnections = 4;

    public string Namespace { get; } = TestServers.Unique("limits");

    public ServiceProcess Ingest { get; private set; } = null!;

    public Uri Url => new($"ws://127.0.0.1:{Ingest.Port}{NativeEndpoint.Path}");

    public async Task InitializeAsync()
    {
        await TestServers.CreateTopicAsync(Namespace + AudioChunk.Topic);
        Ingest = ServiceProcess.Start("ingest", new Dictionary<string, string>(TestServers.KafkaSettings(Namespace))
        {
            ["Ingest:IdleTimeout"] = "00:00:02",
            ["Ingest:RealTimeBurst"] = "00:00:02",
            ["Ingest:MaxConnections"] = MaxConnections.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Tenants:acme:ApiKey"] = ApiKey,
            ["Tenants:acme:CustomerOnly"] = "false",
        });
        await Ingest.WaitHealthyAsync();
    }

    public async Task DisposeAsync() => await Ingest.DisposeAsync();
}

/// <summary>The abuse limits of an internet-facing ingest (docs/reliability.md, "Ingest limits").</summary>
public sealed class IngestLimitsTests(IngestLimitsFixture fixture) : IClassFixture<IngestLimitsFixture>
{
    private const string Start = """{"type":"start","callId":"CALL","sampleRate":8000,"encoding":"pcm16","channels":2,"roles":["customer","agent"]}""";

    [Fact]
    public async Task Audio_FasterThanTheTenantsRealTimeFactor_ClosesWith4430AndCountsIt()
    {
        using var ws = await ConnectAsync();
        await SendTextAsync(ws, Start.Replace("CALL", TestServers.Unique("fast"), StringComparison.Ordinal));
        // 20 s of stereo PCM16 as fast as the socket takes it: far past 2x real time plus the 2 s burst allowance
        var second = new byte[8000 * 4];
        var sending = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 20 && ws.State == WebSocketState.Open; i++) await ws.SendAsync(second, WebSocketMessageType.Binary, true, default);
            }
            catch (WebSocketException)
            {
                // the server closed the call
            }
        });

        var (code, reason) = await ReceiveCloseAsync(ws);
        await sending;

        Assert.Equal(CloseCodes.TooFast, code);
        Assert.Contains("faster than 2x real time", reason);
        using var http = new HttpClient();
        await Wait.UntilAsync(async () => System.Text.RegularExpressions.Regex.IsMatch(await http.GetStringAsync(new Uri(fixture.Ingest.BaseUrl, "/metrics")),
            "streaming_ingest_sessions_closed_total\\{[^}]*protocol=\"native\"[^}]*reason=\"too_fast\""), "the closed session in /metrics");
    }

    [Fact]
    public async Task Message_TrickledAByteAtATime_IdleTimeoutStillCloses4408()
    {
        using var ws = await ConnectAsync();
        await SendTextAsync(ws, Start.Replace("CALL", TestServers.Unique("trickle"), StringComparison.Ordinal));
        using var closed = new CancellationTokenSource();
        // one byte of a never-ending binary message every 500 ms: traffic, but never a whole message
        var trickle = Task.Run(async () =>
        {
            try
            {
                while (!closed.IsCancellationRequested)
                {
                    await ws.SendAsync(new byte[1], WebSocketMessageType.Binary, endOfMessage: false, closed.Token);
                    await Task.Delay(500, closed.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException)
            {
                // the server closed the connection
            }
        });

        var (code, reason) = await ReceiveCloseAsync(ws);
        await closed.CancelAsync();
        await trickle;

        Assert.Equal(CloseCodes.IdleTimeout, code);
        Assert.Equal("no whole message received for 2 s", reason);
    }

    [Fact]
    public async Task Start_MessageOver16KiBBeforeAValidStart_ClosesWith1009()
    {
        using var ws = await ConnectAsync();
        await SendTextAsync(ws, new string(' ', SessionSocket.StartMessageBytes + 1));

        var (code, _) = await ReceiveCloseAsync(ws);

        Assert.Equal(CloseCodes.TooBig, code);
    }

    [Fact]
    public async Task Connect_MoreThanMaxConnections_503BeforeTheUpgrade()
    {
        var open = new List<ClientWebSocket>();
        HttpStatusCode? refused = null;
        try
        {
            // earlier tests' connections may still be closing on the server: connect until one is refused
            for (var i = 0; i < IngestLimitsFixture.MaxConnections * 2 && refused is null; i++)
            {
                var ws = new ClientWebSocket();
                ws.Options.CollectHttpResponseDetails = true;
                ws.Options.SetRequestHeader("X-API-KEY", IngestLimitsFixture.ApiKey);
                try
                {
                    await ws.ConnectAsync(fixture.Url, default);
                    open.Add(ws);
                }
                catch (WebSocketException)
                {
                    refused = ws.HttpStatusCode;
                    ws.Dispose();
                }
            }
        }
        finally
        {
            foreach (var ws in open) ws.Dispose();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused);
        Assert.InRange(open.Count, 1, IngestLimitsFixture.MaxConnections);
    }

    private async Task<ClientWebSocket> ConnectAsync()
    {
        var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("X-API-KEY", IngestLimitsFixture.ApiKey);
        await ws.ConnectAsync(fixture.Url, default);
        return ws;
    }

    private static Task SendTextAsync(ClientWebSocket ws, string text) =>
        ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, default);

    private static async Task<(int Code, string Reason)> ReceiveCloseAsync(ClientWebSocket ws)
    {
        var buffer = new byte[1024];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = await ws.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close) return ((int)result.CloseStatus!.Value, result.CloseStatusDescription ?? "");
        }
    }
}
