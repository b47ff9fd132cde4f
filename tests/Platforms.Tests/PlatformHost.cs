using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;

namespace Streaming.Tests.Platforms;

/// <summary>
/// The real ingest endpoints (native, AudioHook, Twilio) on Kestrel at a free loopback port, with three tenants and a
/// sink that records every published chunk. One host per test: each test sees only its own calls and log lines.
/// </summary>
internal sealed class PlatformHost : IAsyncDisposable
{
    /// <summary>Signs its AudioHook requests; analyzes both parties.</summary>
    public const string AcmeKey = "acme-api-key-0123456789";
    public static readonly byte[] AcmeSecret = [.. Enumerable.Range(1, 32).Select(i => (byte)(i * 7))];
    public const string AcmeTwilioToken = "0123456789abcdef0123456789abcdef";
    public const string AcmeTwilioUrl = "wss://ingest.example.com/v1/twilio/acme";

    /// <summary>A second tenant like acme, with its own credentials.</summary>
    public const string BetaKey = "beta-api-key-0123456789";
    public static readonly byte[] BetaSecret = [.. Enumerable.Range(1, 32).Select(i => (byte)(i * 11))];
    public const string BetaTwilioToken = "fedcba9876543210fedcba9876543210";
    public const string BetaTwilioUrl = "wss://ingest.example.com/v1/twilio/beta";

    /// <summary>No AudioHook client secret (unsigned requests accepted) and the default policy: customer-only.</summary>
    public const string EuBankKey = "eu-bank-api-key-0123456789";
    public const string EuBankTwilioToken = "00112233445566778899aabbccddeeff";
    public const string EuBankTwilioUrl = "wss://ingest.example.com/v1/twilio/eu-bank";

    private readonly WebApplication _app;

    private PlatformHost(WebApplication app, RecordingSinks sinks, LogLines log)
    {
        _app = app;
        Sinks = sinks;
        Log = log;
        Port = new Uri(app.Urls.Single()).Port;
    }

    public RecordingSinks Sinks { get; }

    public LogLines Log { get; }

    public int Port { get; }

    public Uri Url(string path) => new($"ws://127.0.0.1:{Port}{path}");

    /// <summary>The ingest sessions of this host (what its admission measures).</summary>
    public IngestSessions Sessions => _app.Services.GetRequiredService<IngestSessions>();

    /// <param name="claims">shared by several hosts: instances of one deployment (their Redis registry); each its own otherwise</param>
    /// <param name="sinks">shared by several hosts: the one audio topic their calls go to</param>
    public static async Task<PlatformHost> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, ICallClaims? claims = null,
        RecordingSinks? sinks = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Tenants:acme:ApiKey"] = AcmeKey,
            ["Tenants:acme:ClientSecret"] = Convert.ToBase64String(AcmeSecret),
            ["Tenants:acme:CustomerOnly"] = "false",
            ["Tenants:acme:TwilioAuthToken"] = AcmeTwilioToken,
            ["Tenants:acme:TwilioPublicUrl"] = AcmeTwilioUrl,
            ["Tenants:beta:ApiKey"] = BetaKey,
            ["Tenants:beta:ClientSecret"] = Convert.ToBase64String(BetaSecret),
            ["Tenants:beta:CustomerOnly"] = "false",
            ["Tenants:beta:TwilioAuthToken"] = BetaTwilioToken,
            ["Tenants:beta:TwilioPublicUrl"] = BetaTwilioUrl,
            ["Tenants:eu-bank:ApiKey"] = EuBankKey,
            ["Tenants:eu-bank:TwilioAuthToken"] = EuBankTwilioToken,
            ["Tenants:eu-bank:TwilioPublicUrl"] = EuBankTwilioUrl,
            // tests send ahead of real time and then wait, which reads as audio arriving late: off unless a test turns it on
            ["Ingest:RefuseAboveArrivalDelay"] = "00:00:00",
        });
        if (settings is not null) builder.Configuration.AddInMemoryCollection(settings);
        var log = new LogLines();
        builder.Logging.ClearProviders().AddProvider(log);
        sinks ??= new RecordingSinks();
        builder.Services.AddSingleton<IAudioSinkFactory>(sinks);
        if (claims is not null) builder.Services.AddSingleton(claims);
        builder.Services.AddIngestSessions();
        var app = builder.Build();
        app.MapIngestEndpoints();
        await app.StartAsync();
        return new PlatformHost(app, sinks, log);
    }

    /// <summary>Stops the host as SIGTERM does: its sessions are asked to reconnect, and it waits until their calls were resumed elsewhere or ended.</summary>
    public Task StopAsync() => _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Records every chunk the sessions publish, as the pipeline's input would see it.</summary>
internal sealed class RecordingSinks : IAudioSinkFactory
{
    private readonly ConcurrentQueue<AudioChunk> _chunks = new();
    private int _opened;

    /// <summary>Calls started (one sink each).</summary>
    public int Opened => Volatile.Read(ref _opened);

    public ICallAudioSink Open()
    {
        Interlocked.Increment(ref _opened);
        return new Sink(_chunks);
    }

    public IReadOnlyList<AudioChunk> Chunks(string tenant, string callId) =>
        [.. _chunks.Where(c => c.Stream.Tenant == tenant && c.Stream.CallId == callId)];

    /// <summary>The speakers of a call that have published anything.</summary>
    public IReadOnlyList<string> Speakers(string tenant, string callId) => [.. Chunks(tenant, callId).Select(c => c.Stream.Speaker).Distinct().Order()];

    /// <summary>A stream's samples in sequence order; checks the chunks are contiguous.</summary>
    public float[] Samples(string tenant, string callId, string speaker)
    {
        var chunks = Chunks(tenant, callId).Where(c => c.Stream.Speaker == speaker).OrderBy(c => c.Sequence).ToList();
        long next = 0;
        foreach (var chunk in chunks)
        {
            Assert.Equal(next, chunk.StartSample);
            next += chunk.Samples.Length;
        }
        return [.. chunks.SelectMany(c => c.Samples)];
    }

    /// <summary>Waits until <paramref name="calls"/> calls have started (the session layer took them).</summary>
    public async Task WaitOpenedAsync(int calls)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a hang guard, not a timing check
        while (Opened < calls) await Task.Delay(20, timeout.Token);
    }

    /// <summary>Waits until every named stream of the call has published its final chunk (the call ended).</summary>
    public async Task WaitEndedAsync(string tenant, string callId, params string[] speakers)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)); // a hang guard, not a timing check
        while (!speakers.All(s => Chunks(tenant, callId).Any(c => c.Stream.Speaker == s && c.IsFinal)))
        {
            await Task.Delay(20, timeout.Token);
        }
    }

    private sealed class Sink(ConcurrentQueue<AudioChunk> chunks) : ICallAudioSink
    {
        public ValueTask PublishAsync(AudioChunk message, CancellationToken cancellationToken)
        {
            chunks.Enqueue(message);
            return ValueTask.CompletedTask;
        }

        public Task DeliveredAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

/// <summary>The host's log lines, formatted, to check what an operator sees.</summary>
internal sealed class LogLines : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(_lines);

    public void Dispose() { }

    private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
    }
}

/// <summary>Telephone audio for the tests: distinct, recognisable content per party, and its decoded form.</summary>
internal static class TestAudio
{
    /// <summary>μ-law bytes of one party: a pattern seeded per party so two parties (or two tenants) never match.</summary>
    public static byte[] MuLaw(int frames, int seed)
    {
        var random = new Random(seed);
        var bytes = new byte[frames];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>Interleaves mono channels into frames.</summary>
    public static byte[] Interleave(params byte[][] channels)
    {
        var frames = channels[0].Length;
        var output = new byte[frames * channels.Length];
        for (var i = 0; i < frames; i++)
            for (var c = 0; c < channels.Length; c++) output[i * channels.Length + c] = channels[c][i];
        return output;
    }

    public static float[] Decode(ReadOnlySpan<byte> muLaw)
    {
        var samples = new float[muLaw.Length];
        G711.MuLawDecode(muLaw, samples);
        return samples;
    }
}
