using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Streaming.Tests.Distributed;

/// <summary>What the private servers (<see cref="PrivateRedis"/>, <see cref="PrivateKafka"/>) share: a free port, waiting for it, stopping and continuing the process.</summary>
internal static partial class LocalProcess
{
    public const int Terminate = 15;
    public const int Stop = 19;
    public const int Continue = 18;

    public static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static Task WaitForPortAsync(int port, string what, double seconds) =>
        Wait.UntilAsync(() =>
        {
            using var client = new TcpClient();
            try
            {
                client.Connect("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, what, seconds);

    /// <summary>SIGSTOP (<see cref="Stop"/>): its connections hang, as on a network partition; SIGCONT (<see cref="Continue"/>) brings it back.</summary>
    public static void Signal(Process process, int signal)
    {
        if (SendSignal(process.Id, signal) != 0)
            throw new InvalidOperationException($"kill -{signal.ToString(CultureInfo.InvariantCulture)} {process.Id} failed");
    }

    /// <summary>Ends a server started by a test, also one left paused by <see cref="Signal"/>.</summary>
    public static async Task KillAsync(Process process)
    {
        Signal(process, Continue);
        process.Kill();
        await process.WaitForExitAsync();
        process.Dispose();
    }

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);
}
