using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Streaming.Audio;
using Streaming.Ingest.Sessions;
using Streaming.Tenancy;

namespace Streaming.Replay;

/// <summary>
/// Streams WAV files to the ingest endpoint as live calls, at real-time speed (20 ms frames), many at once:
/// for demos and load tests. Usage:
/// <c>Streaming.Replay --api-key KEY [--url ws://127.0.0.1:5101/v1/audio] [--calls N] [--encoding pcm16|mulaw|alaw]
/// [--prefix ID] [--speed X | --fast] FILE.wav...</c>; call i replays file i mod count as call id PREFIX-i, as the tenant
/// whose API key is given (also read from the environment variable INGEST_API_KEY).
/// <c>--speed 4</c> sends 4 s of audio per second (shorter tests); <c>--fast</c> sends as fast as the server takes it.
/// <c>--latency HOST:PORT[/PREFIX]</c> subscribes to the aggregator's Redis update channel and reports, for this run's
/// calls, the latency from the audio chunk accepted at ingest (the window's event time) to its timeline point in Redis.
/// </summary>
public static class ReplayClient
{
    public sealed record Settings(Uri Url, int Calls, string Encoding, string ApiKey, string Prefix, double Speed, IReadOnlyList<string> Files)
    {
        /// <summary>The calls' starts are spread evenly over this (calls arriving over time, as in a contact center's busy hour).</summary>
        public TimeSpan Ramp { get; init; } = TimeSpan.FromSeconds(1);

        /// <summary>Redis endpoint and key prefix of the timelines, when latency is measured.</summary>
        public (string Endpoint, string KeyPrefix)? Latency { get; init; }

        /// <summary>Replay paced at <see cref="Speed"/> times real time; 0 = unpaced.</summary>
        public bool Paced => Speed > 0;
    }

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        Settings settings;
        try
        {
            settings = Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"replay: {e.Message}");
            return 2;
        }
        await using var latency = settings.Latency is { } redis ? await LatencyProbe.StartAsync(redis.Endpoint, redis.KeyPrefix, settings.Prefix + "-") : null;
        var clock = Stopwatch.StartNew();
        var behind = new double[settings.Calls];
        var results = await Task.WhenAll(Enumerable.Range(0, settings.Calls).Select(async i =>
        {
            // spread the starts (over a second by default), as real calls do not begin on the same 20 ms tick
            await Task.Delay(settings.Ramp * i / settings.Calls, cancellationToken);
            try
            {
                return await ReplayAsync(settings, settings.Files[i % settings.Files.Count], $"{settings.Prefix}-{i}", cancellationToken,
                    seconds => behind[i] = seconds);
            }
            catch (WebSocketException e)
            {
                return $"{settings.Prefix}-{i}: could not connect: {e.Message}"; // one call's failure, the others go on
            }
        }));
        foreach (var line in results) Console.WriteLine(line);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"replay: {settings.Calls} call(s) in {clock.Elapsed.TotalSeconds:0.0} s"));
        // A server that does not read in time pushes back through the socket: the delay then never reaches its own measures.
        var completed = behind.Where((_, i) => results[i].Contains("\"stopped\"", StringComparison.Ordinal)).Order().ToArray();
        if (settings.Paced && completed.Length > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"replay: sending fell behind real time by at most, per completed call: median {completed[completed.Length / 2]:0.00} s, p99 {completed[(int)(0.99 * (completed.Length - 1))]:0.00} s, max {completed[^1]:0.00} s"));
        if (latency is not null)
        {
            await latency.WaitForFinalsAsync(settings.Calls * 2, TimeSpan.FromSeconds(60), cancellationToken);
            Console.WriteLine(latency.Report());
        }
        return results.All(r => r.Contains("stopped", StringComparison.Ordinal)) ? 0 : 1;
    }

    /// <summary>Replays one file as one call; returns the server's stop acknowledgement or why the call failed.</summary>
    /// <param name="behind">told, when the call ends, how far (seconds) its sending fell behind real time at worst</param>
    public static async Task<string> ReplayAsync(Settings settings, string file, string callId, CancellationToken cancellationToken,
        Action<double>? behind = null)
    {
        using var source = WavReader.Open(file);
        var format = source.Format;
        var roles = Enumerable.Range(0, format.Channels).Select(c => c switch { 0 => "customer", 1 => "agent", _ => "other" }).ToArray();
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader(TenantAuthentication.ApiKeyHeader, settings.ApiKey);
        await socket.ConnectAsync(settings.Url, cancellationToken);
        var start = new ControlMessage("start", callId, null, format.SampleRate, settings.Encoding, format.Channels, roles);
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(start, IngestJson.Default.ControlMessage), WebSocketMessageType.Text, true, cancellationToken);

        var frameSamples = format.SampleRate / 50 * format.Channels; // 20 ms, as live platforms send
        var samples = new float[frameSamples];
        var bytes = new byte[frameSamples * (settings.Encoding == "pcm16" ? 2 : 1)];
        var clock = Stopwatch.StartNew();
        long frames = 0;
        var worst = 0.0;
        int read;
        try
        {
            while ((read = source.Read(samples)) > 0 && socket.State == WebSocketState.Open)
            {
                var length = Encode(settings.Encoding, samples.AsSpan(0, read), bytes);
                await socket.SendAsync(bytes.AsMemory(0, length), WebSocketMessageType.Binary, true, cancellationToken);
                frames += read / format.Channels;
                if (settings.Paced)
                {
                    var due = TimeSpan.FromSeconds(frames / (double)format.SampleRate / settings.Speed) - clock.Elapsed;
                    if (due > TimeSpan.Zero) await Task.Delay(due, cancellationToken);
                    else worst = Math.Max(worst, -due.TotalSeconds);
                }
            }
        }
        catch (WebSocketException e)
        {
            // The server closed the call while we sent (a refusal such as 4429 or 4409): report it as this call's result.
            return $"{callId}: closed early: {await CloseReasonAsync(socket, e.Message)}";
        }
        finally
        {
            behind?.Invoke(worst);
        }
        if (socket.State != WebSocketState.Open) return $"{callId}: closed early: {await CloseReasonAsync(socket, socket.State.ToString())}";
        string text;
        try
        {
            await socket.SendAsync("{\"type\":\"stop\"}"u8.ToArray(), WebSocketMessageType.Text, true, cancellationToken);
            var reply = new byte[4096];
            var result = await socket.ReceiveAsync(reply, cancellationToken);
            text = result.MessageType == WebSocketMessageType.Text
                ? System.Text.Encoding.UTF8.GetString(reply, 0, result.Count)
                : $"closed: {socket.CloseStatus} {socket.CloseStatusDescription}";
            if (socket.State == WebSocketState.Open || socket.State == WebSocketState.CloseReceived)
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cancellationToken);
        }
        catch (WebSocketException e)
        {
            // The connection broke after the audio: this call's result, not the end of the whole replay.
            return $"{callId}: closed before the stop was acknowledged: {e.Message}";
        }
        return $"{callId}: {text}";
    }

    /// <summary>The server's close code and reason, read from the socket if the close frame has not been read yet.</summary>
    private static async Task<string> CloseReasonAsync(ClientWebSocket socket, string otherwise)
    {
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            var buffer = new byte[1024];
            while (socket.CloseStatus is null && socket.State is WebSocketState.Open or WebSocketState.CloseSent)
                await socket.ReceiveAsync(buffer, wait.Token);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // the connection is gone without a close frame
        }
        return socket.CloseStatus is { } status ? $"{(int)status} {socket.CloseStatusDescription}" : otherwise;
    }

    private static int Encode(string encoding, ReadOnlySpan<float> samples, Span<byte> bytes)
    {
        switch (encoding)
        {
            case "mulaw": G711.MuLawEncode(samples, bytes); return samples.Length;
            case "alaw": G711.ALawEncode(samples, bytes); return samples.Length;
            default:
                var pcm = MemoryMarshal.Cast<byte, short>(bytes);
                // client side, 20 ms at a time: not a hot path
                for (var i = 0; i < samples.Length; i++) pcm[i] = (short)Math.Clamp(MathF.Round(samples[i] * 32768f), short.MinValue, short.MaxValue);
                return samples.Length * 2;
        }
    }

    private static Settings Parse(string[] args)
    {
        var url = new Uri("ws://127.0.0.1:5101" + NativeEndpoint.Path);
        int calls = 1;
        string encoding = "pcm16", prefix = $"replay-{DateTime.UtcNow:HHmmss}";
        var apiKey = Environment.GetEnvironmentVariable("INGEST_API_KEY");
        var speed = 1.0;
        var ramp = TimeSpan.FromSeconds(1);
        (string, string)? latency = null;
        var files = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--url": url = new Uri(Value()); break;
                case "--calls": calls = int.TryParse(Value(), out var n) && n > 0 ? n : throw new ArgumentException("--calls needs a positive integer"); break;
                case "--encoding": encoding = Value(); break;
                case "--api-key": apiKey = Value(); break;
                case "--prefix": prefix = Value(); break;
                case "--fast": speed = 0; break;
                case "--latency":
                    var target = Value().Split('/', 2);
                    latency = (target[0], target.Length > 1 ? target[1] : "emo:");
                    break;
                case "--ramp": ramp = double.TryParse(Value(), CultureInfo.InvariantCulture, out var r) && r >= 0 ? TimeSpan.FromSeconds(r) : throw new ArgumentException("--ramp needs seconds >= 0"); break;
                case "--speed": speed = double.TryParse(Value(), CultureInfo.InvariantCulture, out var x) && x > 0 ? x : throw new ArgumentException("--speed needs a positive number"); break;
                default:
                    if (args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unknown option {args[i]}");
                    files.Add(File.Exists(args[i]) ? args[i] : throw new ArgumentException($"file '{args[i]}' does not exist"));
                    break;
            }
        }
        if (files.Count == 0) throw new ArgumentException("no WAV file given");
        if (string.IsNullOrEmpty(apiKey)) throw new ArgumentException("no API key: give --api-key or set INGEST_API_KEY");
        if (!CallStart.Encodings.ContainsKey(encoding)) throw new ArgumentException($"--encoding '{encoding}' is not pcm16, mulaw or alaw");
        return new Settings(url, calls, encoding, apiKey, prefix, speed, files) { Latency = latency, Ramp = ramp };
    }
}
