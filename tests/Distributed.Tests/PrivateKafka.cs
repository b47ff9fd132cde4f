using System.Diagnostics;
using Streaming.Messaging.Kafka;

namespace Streaming.Tests.Distributed;

/// <summary>
/// A Kafka 0.9 broker of one test's own (the jars scripts/servers.sh installed, the shared ZooKeeper under a chroot of
/// its own), so the test can pause it (SIGSTOP: clients' requests hang, as on a network partition or a stalled broker)
/// and continue it (SIGCONT), or stop it and start it again on the same port with its data, without disturbing the
/// other tests.
/// </summary>
public sealed class PrivateKafka : IAsyncDisposable
{
    private readonly ProcessStartInfo _start;
    private readonly int _port;
    private readonly string _directory;
    private Process _process;

    private PrivateKafka(ProcessStartInfo start, int port, int advertisedPort, string directory)
    {
        _start = start;
        _port = port;
        _directory = directory;
        _process = Launch(start);
        Bootstrap = $"127.0.0.1:{advertisedPort}";
    }

    public string Bootstrap { get; }

    /// <summary>The broker's own log files (server.log, controller.log, ...), kept until the broker is disposed.</summary>
    public string LogDirectory => Path.Combine(_directory, "log4j");

    /// <summary>The port the broker listens on (clients are told <see cref="Bootstrap"/>'s).</summary>
    public int Port => _port;

    /// <param name="advertisedPort">
    /// the port the broker tells clients (and itself) to connect to, where a <see cref="BrokerProxy"/> listens; its own by default
    /// </param>
    /// <param name="messageMaxBytes">the broker's message.max.bytes: the largest (compressed) message set it accepts</param>
    public static async Task<PrivateKafka> StartAsync(int? advertisedPort = null, int messageMaxBytes = 16777216)
    {
        _ = TestServers.KafkaBootstrap; // the shared broker being up proves the jars and ZooKeeper are there
        var home = TestServers.Setting("KAFKA_HOME");
        var zookeeper = TestServers.Setting("KAFKA_ZOOKEEPER");
        var port = LocalProcess.FreePort();
        var directory = Directory.CreateTempSubdirectory("private-kafka-").FullName;
        var properties = Path.Combine(directory, "server.properties");
        // As scripts/servers.sh, with a chroot: a cluster of its own on the shared ZooKeeper.
        File.WriteAllText(properties, string.Join('\n',
            "broker.id=0",
            $"listeners=PLAINTEXT://127.0.0.1:{port}",
            $"advertised.listeners=PLAINTEXT://127.0.0.1:{advertisedPort ?? port}",
            $"zookeeper.connect={zookeeper}/{Path.GetFileName(directory)}",
            $"log.dirs={Path.Combine(directory, "logs")}",
            "num.partitions=4",
            "auto.create.topics.enable=true",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "group.max.session.timeout.ms=300000",
            "group.min.session.timeout.ms=1000",
            $"message.max.bytes={messageMaxBytes}",
            "replica.fetch.max.bytes=16777216",
            "log.cleaner.enable=false",
            "num.io.threads=2",
            "num.network.threads=2"));
        var info = new ProcessStartInfo("java", ["-Xmx256m", "-Xms64m", "-cp", Path.Combine(home, "libs", "*"),
            $"-Dlog4j.configuration=file:{Path.Combine(home, "config", "log4j.properties")}", $"-Dkafka.logs.dir={Path.Combine(directory, "log4j")}",
            "kafka.Kafka", properties])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var kafka = new PrivateKafka(info, port, advertisedPort ?? port, directory);
        await LocalProcess.WaitForPortAsync(port, $"the private Kafka broker on port {port}", 90);
        return kafka;
    }

    /// <summary>The test client settings (<see cref="TestServers.Kafka"/>) pointed at this broker.</summary>
    public KafkaOptions Options(int maxBatch = 64)
    {
        var options = TestServers.Kafka(maxBatch);
        options.BootstrapServers = Bootstrap;
        return options;
    }

    public void Pause() => LocalProcess.Signal(_process, LocalProcess.Stop);

    public void Resume() => LocalProcess.Signal(_process, LocalProcess.Continue);

    /// <summary>SIGTERM: the broker shuts down cleanly (logs flushed, its ZooKeeper session closed); connections are refused until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync()
    {
        LocalProcess.Signal(_process, LocalProcess.Terminate);
        await Wait.UntilAsync(() => _process.HasExited, "the private Kafka broker to shut down after SIGTERM", 60);
    }

    /// <summary>Starts the broker again on the same port with its logs (topics, messages, committed offsets).</summary>
    public async Task StartAgainAsync()
    {
        _process.Dispose();
        _process = Launch(_start);
        await LocalProcess.WaitForPortAsync(_port, $"the private Kafka broker on port {_port} started again", 90);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process.HasExited) _process.Dispose();
        else await LocalProcess.KillAsync(_process);
        Directory.Delete(_directory, recursive: true);
    }

    private static Process Launch(ProcessStartInfo info)
    {
        var process = Process.Start(info) ?? throw new InvalidOperationException("java did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }
}
