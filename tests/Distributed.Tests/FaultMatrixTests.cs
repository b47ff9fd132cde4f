using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Streaming.Audio;
using Streaming.Contracts;
using Streaming.Ingest.Sessions;
using Streaming.Messaging.Kafka;
using Xunit.Abstractions;

namespace Streaming.Tests.Distributed;

/// <summary>
/// The fault matrix of issue 10 on the real Kafka and Redis: two instances of every service, 20 concurrent stereo calls
/// of 3.5 minutes of audio each (the calm sample four times, streamed at 4x real time in 20 ms messages, as platforms
/// send), and faults injected at random points mid-call, while every stage holds state of every call. Afterwards every
/// call's timeline must be the embedded pipeline's for the same audio, window by window (nothing lost, nothing
/// duplicated, nothing different), every stop acknowledgement must count the whole call, no call may be left active and
/// no dead letter written.
/// <para>A cell is a set of faults. CI runs <c>combined</c> (a kill -9 of a featurizer, a classifier and an aggregator
/// and a SIGTERM of an ingest, at different moments); <c>bench/fault-matrix.sh</c> runs every cell, one per test run,
/// chosen by the environment variable <see cref="CellVariable"/>. Results: docs/reliability.md, "Fault matrix".</para>
/// </summary>
public sealed class FaultMatrixTests(ITestOutputHelper output)
{
    public const string CellVariable = "FAULT_MATRIX_CELL";

    private const int Calls = 20;
    private const int Repeats = 4;
    private const double Speed = 4;
    private const int FrameBytes = 4; // 8 kHz stereo PCM16
    private const int MessageFrames = 160; // 20 ms

    /// <summary>
    /// Each cell's faults, and the services that run one instance in it (two otherwise); a fault fires when its trigger
    /// passes a random point in [from, from + 0.15) of the run.
    /// </summary>
    private static readonly Dictionary<string, Cell> Cells = new()
    {
        ["combined"] = new([Kill("featurizer", 0.15), Sigterm(0.3), Kill("classifier", 0.4), Kill("aggregator", 0.65)]),
        ["featurizer"] = new([Kill("featurizer", 0.3)]),
        ["classifier"] = new([Kill("classifier", 0.3)]),
        ["aggregator"] = new([Kill("aggregator", 0.3)]),
        ["featurizer-alone"] = new([KillAndReplace("featurizer", 0.3)], "featurizer"),
        ["classifier-alone"] = new([KillAndReplace("classifier", 0.3)], "classifier"),
        ["aggregator-alone"] = new([KillAndReplace("aggregator", 0.3)], "aggregator"),
        ["join"] = new([Join(0.15), Leave(0.55)]),
        ["ingest"] = new([Sigterm(0.3)]),
        ["redis"] = new([RedisStopStart(0.3)]),
        ["broker"] = new([BrokerStopStart(0.3)]),
    };

    [Fact]
    public async Task Run_FaultsMidCallUnderLoad_EveryTimelineIdenticalToUninterruptedRunNoCallActiveNoDeadLetter()
    {
        var cell = Environment.GetEnvironmentVariable(CellVariable) is { Length: > 0 } name ? name : "combined";
        if (!Cells.TryGetValue(cell, out var setup)) Assert.Fail($"{CellVariable}={cell}: no such cell (cells: {string.Join(", ", Cells.Keys)})");
        var faults = setup!.Faults;
        var file = LongCall(out var audio, out var frames);
        try
        {
            var embedded = await DistributedStack.EmbeddedAsync(file, "embedded");
            var perCall = embedded.Speakers.Sum(s => s.Windows.Count);
            Assert.All(embedded.Speakers, s => Assert.True(s.Windows.Count(w => w.Label != EmotionWindow.Silence) >= 40, $"{s.Speaker}: too few speech windows"));

            await using var redis = faults.Any(f => f.NeedsPrivateRedis) ? await PrivateRedis.StartAsync(persistent: true) : null;
            await using var kafka = faults.Any(f => f.NeedsPrivateKafka) ? await PrivateKafka.StartAsync() : null;
            await using var stack = await DistributedStack.StartAsync(redis?.Endpoint, kafkaBootstrap: kafka?.Bootstrap,
                serviceSettings: faults.SingleOrDefault(f => f.ServiceSettings is not null)?.ServiceSettings);
            var run = new Run(stack, redis, kafka, audio, frames, Calls * (long)perCall);
            foreach (var service in new[] { "featurizer", "classifier", "aggregator", "ingest" }.Except(setup.Alone)) run.Instances[service].Add(stack.Start(service));
            foreach (var instances in run.Instances.Values) await instances[^1].WaitHealthyAsync();
            var seed = int.TryParse(Environment.GetEnvironmentVariable("FAULT_MATRIX_SEED"), CultureInfo.InvariantCulture, out var given) ? given : Environment.TickCount;
            var random = new Random(seed);
            var calls = Enumerable.Range(0, Calls).Select(i => $"matrix-{i}").ToArray();
            using var load = new LoadSampler();
            output.WriteLine($"cell {cell}, seed {seed}: {Calls} stereo calls of {frames / 8000.0 / 60:F1} min at {Speed}x, {perCall / 2} windows per stream; instances {string.Join(", ", run.Instances.Select(i => $"{i.Key} {i.Value.Count}"))}; load average {LoadSampler.Now()}");

            // A run that fails leaves the services' logs and a census of the wrong calls' messages (FAULT_MATRIX_LOGS).
            using var kept = new KeptLogs(output, cell, seed, stack, kafka, calls);
            var clock = Stopwatch.StartNew();
            var streaming = calls.Select((id, i) => StreamCallAsync(run, id, i)).ToList();
            // Each fault waits for its moment on its own, so faults of different triggers may overlap, as they would in production.
            var injected = faults.Select(f => InjectAsync(run, f, f.From + 0.15 * random.NextDouble(), clock)).ToList();
            var acks = await Task.WhenAll(streaming);
            foreach (var line in await Task.WhenAll(injected)) output.WriteLine(line);

            var expectedSeconds = frames / 8000.0;
            var badAcks = acks.Where(a => !IsWholeCall(a, expectedSeconds)).ToList();
            var (lost, extra, differing) = (0, 0, 0);
            var failures = new List<string>();
            foreach (var call in calls)
            {
                var wrongBefore = lost + extra + differing;
                var actual = await stack.WaitCompleteAsync(call);
                foreach (var want in embedded.Speakers)
                {
                    var got = actual.Speakers.Single(s => s.Speaker == want.Speaker).Windows;
                    var stored = got.GroupBy(w => w.Index).ToDictionary(g => g.Key, g => g.First());
                    extra += got.Count - stored.Count; // an index twice
                    var expected = want.Windows.ToDictionary(w => w.Index);
                    var missing = expected.Keys.Where(i => !stored.ContainsKey(i)).ToList();
                    lost += missing.Count;
                    extra += stored.Keys.Count(i => !expected.ContainsKey(i));
                    var wrong = new List<long>();
                    foreach (var (index, window) in expected)
                    {
                        if (!stored.TryGetValue(index, out var storedWindow)) continue;
                        try
                        {
                            WindowAssert.Same(window, storedWindow);
                        }
                        catch (Xunit.Sdk.XunitException e)
                        {
                            differing++;
                            wrong.Add(index);
                            failures.Add($"{call}: {e.Message}");
                        }
                    }
                    if (missing.Count + wrong.Count > 0)
                        kept.Wrong(call, $"{call}/{want.Speaker}: lost windows [{TopicCensus.Ranges(missing)}], differing [{TopicCensus.Ranges(wrong)}] of 0..{expected.Keys.Max()}");
                }
                if (lost + extra + differing > wrongBefore) kept.Wrong(call, null);
            }
            var active = (await stack.Store.ListCallsAsync(DistributedStack.Tenant, default)).Where(c => c.IsActive).Select(c => c.CallId).ToList();
            var letters = DeadLetters(stack.KafkaBootstrap, stack.Namespace + DeadLetter.Topic);
            // Stage hosts that replaced a consumer left without a group coordinator (KafkaStageHost, Kafka:StalledConsumerSeconds).
            var rebuilt = run.Instances.Values.SelectMany(i => i).Sum(i => i.Output.Split('\n').Count(l => l.Contains("a new consumer from the bootstrap servers", StringComparison.Ordinal)));
            output.WriteLine($"cell {cell}: {Calls} calls, {Calls * frames / 8000.0 / 60:F0} call-minutes ({2 * Calls * frames / 8000.0 / 60:F0} stream-minutes) in {clock.Elapsed.TotalSeconds:F0} s; "
                + $"{Calls * perCall} windows expected: {lost} lost, {extra} extra, {differing} differing; {badAcks.Count} acknowledgements short; {active.Count} calls active; "
                + $"{letters} dead letters; {rebuilt} consumers rebuilt; load average {load.Summary()}");

            Assert.True(badAcks.Count == 0, $"stop acknowledgements not counting the whole call ({expectedSeconds} s): {string.Join("; ", badAcks.Take(3))}");
            Assert.True(lost == 0 && extra == 0 && differing == 0, $"{lost} lost, {extra} extra, {differing} differing: {string.Join("\n", failures.Take(5))}");
            Assert.Empty(active);
            Assert.Equal(0, letters);
            kept.Passed();
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Where a run keeps the services' output, the broker's logs and a census of the wrong calls' messages when it fails.</summary>
    public const string LogsVariable = "FAULT_MATRIX_LOGS";

    /// <summary>"1": keep them when the run passes too.</summary>
    public const string KeepLogsVariable = "FAULT_MATRIX_KEEP_LOGS";

    /// <summary>Ingest's chunk size (Ingest:ChunkSamples, not set by the stack): the census checks each chunk's position by it.</summary>
    private const int ChunkSamples = 1600;

    /// <summary>
    /// What a run leaves in <see cref="LogsVariable"/>/CELL-SEED when it fails (disposed before the stack, while the broker and the
    /// processes' output are still there): every service process's output (a file each), the private broker's log files and, for
    /// the calls found wrong (every call when the run failed before comparing), what the audio and frames topics hold of each
    /// stream (<see cref="TopicCensus"/>).
    /// </summary>
    private sealed class KeptLogs(ITestOutputHelper output, string cell, int seed, DistributedStack stack, PrivateKafka? kafka, string[] calls) : IDisposable
    {
        private readonly HashSet<string> _wrong = new(StringComparer.Ordinal);
        private readonly List<string> _findings = [];
        private bool _passed;

        /// <summary>A call found wrong, and what is wrong with one of its streams (printed at once, kept with the census).</summary>
        public void Wrong(string call, string? finding)
        {
            _wrong.Add(call);
            if (finding is null) return;
            _findings.Add(finding);
            output.WriteLine(finding);
        }

        public void Passed() => _passed = true;

        public void Dispose()
        {
            if (Environment.GetEnvironmentVariable(LogsVariable) is not { Length: > 0 } root || (_passed && Environment.GetEnvironmentVariable(KeepLogsVariable) != "1")) return;
            var directory = Path.Combine(root, $"{cell}-{seed}");
            Directory.CreateDirectory(directory);
            foreach (var process in stack.Processes) File.WriteAllText(Path.Combine(directory, $"{process.Name}-{process.Port}.log"), process.Output);
            if (kafka is not null && Directory.Exists(kafka.LogDirectory))
            {
                foreach (var log in Directory.GetFiles(kafka.LogDirectory)) File.Copy(log, Path.Combine(directory, "broker-" + Path.GetFileName(log)), overwrite: true);
            }
            var options = TestServers.Kafka();
            options.BootstrapServers = stack.KafkaBootstrap;
            var wanted = _wrong.Count > 0 ? _wrong : calls.ToHashSet(StringComparer.Ordinal);
            var census = TopicCensus.AudioChunks(options, stack.Namespace + AudioChunk.Topic, wanted, ChunkSamples)
                + TopicCensus.FeatureFrames(options, stack.Namespace + FeatureFrames.Topic, wanted, Streaming.Features.FeatureConfig.Telephone8k, ChunkSamples)
                + TopicCensus.EmotionWindows(options, stack.Namespace + EmotionWindow.Topic, wanted);
            File.WriteAllText(Path.Combine(directory, "census.txt"), string.Join("\n", _findings) + "\n" + census);
            output.WriteLine($"logs and census kept in {directory}:\n{census}");
        }
    }

    private sealed record Cell(Fault[] Faults, params string[] Alone);

    /// <summary>One fault of a cell: what it does, when (a share of the audio sent or of the windows stored), and how.</summary>
    private sealed record Fault(string What, bool OnAudio, double From, Func<Run, Task<string>> Inject)
    {
        public bool NeedsPrivateRedis { get; init; }

        public bool NeedsPrivateKafka { get; init; }

        /// <summary>More settings for some services, by service name.</summary>
        public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? ServiceSettings { get; init; }
    }

    /// <summary>kill -9 of the first instance of a stage; recovered when the other one is assigned its partitions.</summary>
    private static Fault Kill(string service, double from) => new($"kill -9 of one {service}", OnAudio: false, from, async run =>
    {
        var (victim, survivor) = (run.Instances[service][0], run.Instances[service][1]);
        var assigned = Assignments(survivor);
        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        await Wait.UntilAsync(() => Assignments(survivor) > assigned, $"the other {service} to be assigned the killed one's partitions", 120);
        return $"partitions reassigned after {clock.Elapsed.TotalSeconds:F1} s";
    });

    /// <summary>kill -9 of a stage's only instance, and a new one started in its place (as an orchestrator would).</summary>
    private static Fault KillAndReplace(string service, double from) => new($"kill -9 of the only {service}, a new one started", OnAudio: false, from, async run =>
    {
        var clock = Stopwatch.StartNew();
        await run.Instances[service][0].KillAsync();
        var fresh = run.Stack.Start(service);
        await fresh.WaitHealthyAsync();
        await Wait.UntilAsync(() => Assignments(fresh) > 0, $"the new {service} to be assigned partitions", 120);
        run.Instances[service][0] = fresh;
        return $"the new instance assigned partitions {clock.Elapsed.TotalSeconds:F1} s after the kill";
    });

    /// <summary>A third featurizer and classifier join the groups (partitions move to them mid-call).</summary>
    private static Fault Join(double from) => new("a third featurizer and classifier join", OnAudio: false, from, async run =>
    {
        var clock = Stopwatch.StartNew();
        var joined = new[] { "featurizer", "classifier" }.Select(s => run.Stack.Start(s)).ToList();
        foreach (var instance in joined)
        {
            await instance.WaitHealthyAsync();
            await Wait.UntilAsync(() => Assignments(instance) > 0, $"the new {instance.Name} to be assigned partitions", 120);
            run.Instances[instance.Name].Add(instance);
        }
        return $"both assigned partitions after {clock.Elapsed.TotalSeconds:F1} s";
    });

    /// <summary>The instances that joined leave again (SIGTERM: they finish their batch and leave the groups).</summary>
    private static Fault Leave(double from) => new("the third featurizer and classifier leave (SIGTERM)", OnAudio: false, from, async run =>
    {
        var clock = Stopwatch.StartNew();
        await Wait.UntilAsync(() => run.Instances["featurizer"].Count == 3 && run.Instances["classifier"].Count == 3, "the third instances to have joined", 300);
        foreach (var service in new[] { "featurizer", "classifier" }) await run.Instances[service][2].StopAsync();
        return $"both stopped after {clock.Elapsed.TotalSeconds:F1} s";
    });

    /// <summary>SIGTERM of the first ingest: it asks its clients to reconnect, and they resume their calls on the other one.</summary>
    private static Fault Sigterm(double from) => new("SIGTERM of an ingest (its clients reconnect to the other)", OnAudio: true, from, async run =>
    {
        var victim = run.Instances["ingest"][0];
        var moving = run.ConnectedTo.Count(c => c.Value == victim);
        var resumed = Volatile.Read(ref run.Resumed);
        var clock = Stopwatch.StartNew();
        var stopping = victim.StopAsync();
        await Wait.UntilAsync(() => Volatile.Read(ref run.Resumed) >= resumed + moving, $"{moving} calls to resume on the other ingest", 120);
        var moved = clock.Elapsed.TotalSeconds;
        await stopping;
        Assert.Contains("handed over at", victim.Output);
        return $"{moving} calls resumed on the other ingest after {moved:F1} s; the instance exited after {clock.Elapsed.TotalSeconds:F1} s";
    });

    /// <summary>Redis (timelines, and ingest's call claims) shut down for 10 s, then started again with its data.</summary>
    private static Fault RedisStopStart(double from) => new("Redis stopped for 10 s, then started", OnAudio: false, from, async run =>
    {
        await run.Redis!.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(10));
        await run.Redis.StartAgainAsync();
        var clock = Stopwatch.StartNew();
        var before = await run.CountWindowsAsync();
        await Wait.UntilAsync(async () => await run.CountWindowsAsync() > before, "windows stored again after Redis started", 120);
        return $"windows stored again {clock.Elapsed.TotalSeconds:F1} s after the start";
    }) { NeedsPrivateRedis = true };

    /// <summary>Seconds the broker cell keeps the broker shut down (starting it again takes a few seconds more).</summary>
    private const int BrokerDownSeconds = 20;

    /// <summary>The stages' delivery timeout in the broker cell: far shorter than the outage, so outputs produced at the stop fail and are produced again from the outbox.</summary>
    private const int StageDeliveryTimeoutMs = 5000;

    /// <summary>Ingest's producer queue in the broker cell: small, so that it fills within the outage and ingest must push back.</summary>
    private const int IngestQueueKbytes = 1024;

    /// <summary>
    /// The Kafka broker (the cell's own) shut down for <see cref="BrokerDownSeconds"/>, longer than the stages' delivery timeout,
    /// then started again with its logs. Ingest keeps its default delivery timeout (5 minutes): audio it cannot deliver
    /// within it ends the call with 1011, since a platform cannot send it again, so it must outlast the outages ingest
    /// rides through. Meanwhile ingest's resident memory stays within its producer queue (see the bound below).
    /// </summary>
    private static Fault BrokerStopStart(double from) => new($"Kafka broker stopped for {BrokerDownSeconds} s, then started", OnAudio: true, from, async run =>
    {
        var ingests = run.Instances["ingest"].ToArray();
        using var memory = new PeakMemory(ingests);
        await Task.Delay(TimeSpan.FromSeconds(5)); // each ingest's peak before the outage: the baseline
        var before = memory.TakePeaks();
        var sent = Interlocked.Read(ref run.SentFrames);
        var clock = Stopwatch.StartNew();
        await run.Kafka!.StopAsync();
        var stopped = clock.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(BrokerDownSeconds));
        await run.Kafka.StartAgainAsync();
        var down = clock.Elapsed.TotalSeconds;
        var during = memory.TakePeaks();
        var accepted = (Interlocked.Read(ref run.SentFrames) - sent) * FrameBytes;
        clock.Restart();
        var windows = await run.CountWindowsAsync();
        await Wait.UntilAsync(async () => await run.CountWindowsAsync() > windows, "windows stored again after the broker started", 300);
        var recovered = clock.Elapsed.TotalSeconds;

        // What ingest may add while the broker is away: its producer queue (full within a second: each ingest takes 10
        // calls x 4 x 32 KB/s of PCM16, ~1.3 MB/s) and, per connection, the 64 KiB of unread input Kestrel keeps once the
        // session stops reading (the pooled receive buffer and the decode buffers exist before the outage). The runtime
        // gets 32 MiB on top: with the queue capped, ingest still grew by 13-24 MiB in the outage (five runs: its GC heap and
        // native buffers, not analysed further). Without the cap the queue takes every second of audio sent during the
        // outage: ingest grew by 80-86 MiB, well beyond the bound.
        const long runtime = 32L << 20;
        var growth = during.Zip(before, (d, b) => d - b).ToArray();
        var bounds = ingests.Select(i => IngestQueueKbytes * 1024L + run.ConnectedTo.Count(c => c.Value == i) * (64L << 10) + runtime).ToArray();
        string MiB(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture);
        var report = $"down {down:F1} s (shut down in {stopped:F1} s); ingest resident MiB before → peak during: "
            + string.Join(", ", before.Zip(during, (b, d) => $"{MiB(b)} → {MiB(d)}")) + $" (bounds +{string.Join("/+", bounds.Select(MiB))}); "
            + $"the clients got {MiB(accepted)} MiB of audio through during the outage; windows stored again {recovered:F1} s after the start";
        Assert.True(growth.Zip(bounds).All(p => p.First <= p.Second), $"ingest's memory grew beyond its producer queue during the outage: {report}");
        return report;
    })
    {
        NeedsPrivateKafka = true,
        ServiceSettings = new Dictionary<string, IReadOnlyDictionary<string, string>>
        {
            ["ingest"] = new Dictionary<string, string> { ["Kafka:ProducerQueueKbytes"] = IngestQueueKbytes.ToString(CultureInfo.InvariantCulture) },
            ["featurizer"] = new Dictionary<string, string> { ["Kafka:DeliveryTimeoutMs"] = StageDeliveryTimeoutMs.ToString(CultureInfo.InvariantCulture) },
            ["classifier"] = new Dictionary<string, string> { ["Kafka:DeliveryTimeoutMs"] = StageDeliveryTimeoutMs.ToString(CultureInfo.InvariantCulture) },
            ["aggregator"] = new Dictionary<string, string> { ["Kafka:DeliveryTimeoutMs"] = StageDeliveryTimeoutMs.ToString(CultureInfo.InvariantCulture) },
        },
    };

    private async Task<string> InjectAsync(Run run, Fault fault, double at, Stopwatch clock)
    {
        var what = fault.OnAudio ? "of the audio sent" : "of the windows stored";
        await Wait.UntilAsync(async () => (fault.OnAudio ? run.AudioShare() : await run.WindowShare()) >= at, $"{at:P0} {what} before: {fault.What}", 900);
        var when = $"at {clock.Elapsed.TotalSeconds:F0} s ({run.AudioShare():P0} of the audio sent, {await run.WindowShare():P0} of the windows stored), load average {LoadSampler.Now()}";
        // a fault of the clients' side after the calls were sent is no longer a fault mid-call
        if (fault.OnAudio) Assert.True(run.AudioShare() < 1, $"{fault.What}: the calls ended before {at:P0} {what}");
        var result = await fault.Inject(run);
        return $"{fault.What} {when}: {result}";
    }

    /// <summary>One call as a platform streams it: 20 ms messages at <see cref="Speed"/>x, resuming on the other ingest when asked to reconnect.</summary>
    private static async Task<string> StreamCallAsync(Run run, string callId, int index)
    {
        await Task.Delay(TimeSpan.FromMilliseconds(1000.0 * index / Calls)); // calls do not start on the same tick
        var ingest = run.Instances["ingest"][index % 2];
        var position = 0;
        var clock = Stopwatch.StartNew();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(run.Frames / 8000.0 / Speed + 600));
        for (var connection = 0; ; connection++)
        {
            using var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("X-API-KEY", DistributedStack.ApiKey);
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{ingest.Port}{NativeEndpoint.Path}"), deadline.Token);
            run.ConnectedTo[callId] = ingest;
            await SendTextAsync(socket, NativeClient.StartMessage(callId), deadline.Token);
            if (connection > 0)
            {
                var greeting = JsonDocument.Parse(await ReceiveTextAsync(socket, deadline.Token)).RootElement;
                Assert.True(greeting.GetProperty("type").GetString() == "resumed", $"{callId}: resumed on {ingest.Port}: {greeting}");
                position = (int)Math.Round(greeting.GetProperty("seconds").GetDouble() * 8000);
                Interlocked.Increment(ref run.Resumed);
            }
            var reply = ReceiveTextAsync(socket, deadline.Token); // the stop acknowledgement, or a reconnect
            while (!reply.IsCompleted && position < run.Frames)
            {
                var n = Math.Min(MessageFrames, run.Frames - position);
                await socket.SendAsync(run.Audio.AsMemory(position * FrameBytes, n * FrameBytes), WebSocketMessageType.Binary, true, deadline.Token);
                position += n;
                Interlocked.Add(ref run.SentFrames, n);
                var due = TimeSpan.FromSeconds(position / 8000.0 / Speed) - clock.Elapsed;
                if (due > TimeSpan.Zero) await Task.Delay(due, deadline.Token);
            }
            var stopSent = !reply.IsCompleted;
            if (stopSent) await SendTextAsync(socket, """{"type":"stop"}""", deadline.Token);
            var text = await reply;
            // a stop that crossed the reconnect message is still read and acknowledged by the draining instance
            if (stopSent && text.Contains("\"reconnect\"", StringComparison.Ordinal)) text = await ReceiveTextAsync(socket, deadline.Token);
            if (text.Contains("\"reconnect\"", StringComparison.Ordinal))
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "moving", deadline.Token); // what was sent is the server's
                await DrainUntilClosedAsync(socket, deadline.Token);
                ingest = run.Instances["ingest"].First(i => i != ingest && !i.HasExited);
                continue;
            }
            if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", deadline.Token);
            return $"{callId}: {text}";
        }
    }

    private static bool IsWholeCall(string ack, double seconds)
    {
        var json = ack[(ack.IndexOf(':', StringComparison.Ordinal) + 1)..];
        try
        {
            var root = JsonDocument.Parse(json).RootElement;
            return root.GetProperty("type").GetString() == "stopped" && Math.Abs(root.GetProperty("seconds").GetDouble() - seconds) < 1e-6;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Task SendTextAsync(ClientWebSocket socket, string text, CancellationToken cancellationToken) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>The next text message, or what the close said.</summary>
    private static async Task<string> ReceiveTextAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var count = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(count), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return $"closed: {socket.CloseStatus} {socket.CloseStatusDescription}";
            count += result.Count;
            if (result.EndOfMessage) return Encoding.UTF8.GetString(buffer, 0, count);
        }
    }

    private static async Task DrainUntilClosedAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        while (socket.State is WebSocketState.Open or WebSocketState.CloseSent)
        {
            if ((await socket.ReceiveAsync(buffer, cancellationToken)).MessageType == WebSocketMessageType.Close) return;
        }
    }

    private static int Assignments(ServiceProcess instance) =>
        instance.Output.Split('\n').Count(l => l.Contains("assigned partitions [", StringComparison.Ordinal) && !l.Contains("assigned partitions []", StringComparison.Ordinal));

    /// <summary>Messages ever written to the dead-letter topic: the sum of its partitions' high watermarks.</summary>
    private static long DeadLetters(string bootstrap, string topic)
    {
        var options = TestServers.Kafka();
        options.BootstrapServers = bootstrap;
        using var consumer = new ConsumerBuilder<byte[], byte[]>(options.ConsumerConfig(TestServers.Unique("letters"))).SetLogHandler(KafkaLog.Write).Build();
        return Enumerable.Range(0, 4).Sum(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    /// <summary>The calm sample <see cref="Repeats"/> times in a row: a stereo call of 3.5 minutes, in a temporary file and as PCM16 bytes.</summary>
    private static string LongCall(out byte[] pcm16, out int frames)
    {
        using var source = WavReader.Open(Path.Combine(ServiceProcess.RepoRoot, "samples", "call-calm.wav"));
        Assert.Equal((8000, 2), (source.Format.SampleRate, source.Format.Channels));
        var samples = new List<float>();
        var buffer = new float[4096 * source.Format.Channels];
        for (int n; (n = source.Read(buffer)) > 0;) samples.AddRange(buffer.AsSpan(0, n));
        float[] call = [.. Enumerable.Repeat(samples, Repeats).SelectMany(s => s)];
        var path = Path.Combine(Path.GetTempPath(), $"{TestServers.Unique("matrix")}.wav");
        WavWriter.WritePcm16(path, 8000, 2, call);
        // the bytes the client sends are the file's samples (PCM16 read back as s / 32768 converts back exactly)
        pcm16 = new byte[call.Length * 2];
        var pcm = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(pcm16.AsSpan());
        for (var i = 0; i < call.Length; i++) pcm[i] = (short)Math.Clamp(MathF.Round(call[i] * 32768f), short.MinValue, short.MaxValue);
        frames = call.Length / 2;
        return path;
    }

    /// <summary>What a cell's faults and calls share.</summary>
    private sealed class Run(DistributedStack stack, PrivateRedis? redis, PrivateKafka? kafka, byte[] audio, int frames, long windows)
    {
        public long SentFrames;
        public int Resumed;
        private long _lastCount;

        public DistributedStack Stack => stack;

        public PrivateRedis? Redis => redis;

        public PrivateKafka? Kafka => kafka;

        public byte[] Audio => audio;

        /// <summary>Frames per call.</summary>
        public int Frames => frames;

        /// <summary>The running instances per service, the stack's first; a fault takes the first as its victim.</summary>
        public Dictionary<string, List<ServiceProcess>> Instances { get; } = new()
        {
            ["featurizer"] = [stack.Featurizer], ["classifier"] = [stack.Classifier], ["aggregator"] = [stack.Aggregator], ["ingest"] = [stack.Ingest],
        };

        /// <summary>The ingest instance each call streams to now.</summary>
        public ConcurrentDictionary<string, ServiceProcess> ConnectedTo { get; } = new();

        public double AudioShare() => Interlocked.Read(ref SentFrames) / ((double)Calls * frames);

        public async Task<double> WindowShare() => await CountWindowsAsync() / (double)windows;

        /// <summary>Windows stored for the calls so far, one HLEN per stream; the last count while Redis is down.</summary>
        public async Task<long> CountWindowsAsync()
        {
            var db = stack.Redis.GetDatabase();
            try
            {
                var lengths = Enumerable.Range(0, Calls).SelectMany(c => new[] { "customer", "agent" }
                    .Select(s => db.HashLengthAsync($"{stack.Namespace}:{{{DistributedStack.Tenant}/matrix-{c}}}:w:{s}")));
                return _lastCount = (await Task.WhenAll(lengths)).Sum();
            }
            catch (StackExchange.Redis.RedisException)
            {
                return _lastCount;
            }
        }
    }

    /// <summary>The highest resident memory of each of some processes since the last <see cref="TakePeaks"/>, sampled every 100 ms.</summary>
    private sealed class PeakMemory : IDisposable
    {
        private readonly ServiceProcess[] _processes;
        private readonly long[] _peaks;
        private readonly Timer _timer;
        private bool _disposed;

        public PeakMemory(ServiceProcess[] processes)
        {
            _processes = processes;
            _peaks = new long[processes.Length];
            _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, TimeSpan.FromMilliseconds(100));
        }

        public long[] TakePeaks()
        {
            lock (_peaks)
            {
                Sample();
                var peaks = _peaks.ToArray();
                Array.Clear(_peaks);
                return peaks;
            }
        }

        public void Dispose()
        {
            lock (_peaks) _disposed = true; // a callback may still come after the timer is disposed, and the processes with it
            _timer.Dispose();
        }

        private void Sample()
        {
            lock (_peaks)
            {
                if (_disposed) return;
                for (var i = 0; i < _processes.Length; i++) _peaks[i] = Math.Max(_peaks[i], _processes[i].ResidentBytes());
            }
        }
    }

    /// <summary>The 1-minute load average, sampled every 5 s while a cell runs.</summary>
    private sealed class LoadSampler : IDisposable
    {
        private readonly List<double> _samples = [];
        private readonly Timer _timer;

        public LoadSampler() => _timer = new Timer(_ => { lock (_samples) _samples.Add(Read()); }, null, TimeSpan.Zero, TimeSpan.FromSeconds(5));

        public static string Now() => Read().ToString("F1", CultureInfo.InvariantCulture);

        public string Summary()
        {
            lock (_samples) return _samples.Count == 0 ? Now() : string.Create(CultureInfo.InvariantCulture, $"{_samples.Min():F1}-{_samples.Max():F1} (mean {_samples.Average():F1})");
        }

        public void Dispose() => _timer.Dispose();

        private static double Read() => double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
