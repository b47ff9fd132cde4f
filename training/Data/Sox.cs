using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Streaming.Training.Data;

/// <summary>
/// The sox command line on whole float signals: low-bitrate telephone codecs (GSM 06.10, AMR-NB) and room reverberation
/// for the extended augmentation. Training only; sox comes from Debian (<c>apt-get install sox libsox-fmt-all</c>).
/// </summary>
internal static class Sox
{
    /// <summary>AMR-NB's eight modes, 4.75-12.2 kbit/s, chosen by sox's -C.</summary>
    public const int AmrModes = 8;

    /// <summary>Encodes with GSM 06.10 (13 kbit/s) and decodes again.</summary>
    public static float[] GsmRoundTrip(float[] x, int rate) =>
        Decode(Run(Raw(x), [.. RawInput(rate), "-t", "gsm", "-"]), "gsm", rate, x.Length);

    /// <summary>Encodes with AMR-NB in <paramref name="mode"/> (0: 4.75 … 7: 12.2 kbit/s) and decodes again.</summary>
    public static float[] AmrRoundTrip(float[] x, int rate, int mode) =>
        Decode(Run(Raw(x), [.. RawInput(rate), "-C", mode.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "amr-nb", "-"]), "amr-nb", rate, x.Length);

    /// <summary>
    /// sox's reverb (Freeverb) mixed with the dry signal: <paramref name="reverberance"/> and <paramref name="roomScale"/> in
    /// percent. The input is lowered 6 dB first so the reverberant sum does not clip; the augmentation sets the level after.
    /// </summary>
    public static float[] Reverb(float[] x, int rate, double reverberance, double roomScale)
    {
        string F(double v) => v.ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
        var output = Run(Raw(x), [.. RawInput(rate), .. RawOutput(), "gain", "-6", "reverb", F(reverberance), "50", F(roomScale)]);
        return Fit(MemoryMarshal.Cast<byte, float>(output).ToArray(), x.Length);
    }

    private static float[] Decode(byte[] encoded, string type, int rate, int length) =>
        Fit(MemoryMarshal.Cast<byte, float>(Run(encoded, ["-t", type, "-r", Rate(rate), "-c", "1", "-", .. RawOutput()])).ToArray(), length);

    private static string Rate(int rate) => rate.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string[] RawInput(int rate) => ["-t", "raw", "-e", "floating-point", "-b", "32", "-r", Rate(rate), "-c", "1", "-"];

    private static string[] RawOutput() => ["-t", "raw", "-e", "floating-point", "-b", "32", "-"];

    private static byte[] Raw(float[] x) => MemoryMarshal.AsBytes(x.AsSpan()).ToArray();

    /// <summary>Codecs work in whole frames (GSM 160 samples, AMR 20 ms): the decoded signal is cut or zero-padded to the input's length.</summary>
    private static float[] Fit(float[] y, int length)
    {
        if (y.Length == length) return y;
        var fitted = new float[length];
        y.AsSpan(0, Math.Min(length, y.Length)).CopyTo(fitted);
        return fitted;
    }

    private static byte[] Run(byte[] input, string[] args)
    {
        var start = new ProcessStartInfo("sox") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-V1"); // errors only: clipping warnings of the decoders are expected
        foreach (var a in args) start.ArgumentList.Add(a);
        Process process;
        try { process = Process.Start(start)!; }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"--augment-set extended needs the sox command ({e.Message}); install it with 'apt-get install sox libsox-fmt-all'", e);
        }
        using (process)
        {
            // stdin is written while stdout is read, so neither pipe fills up and blocks the other side
            var writer = Task.Run(() =>
            {
                using var stdin = process.StandardInput.BaseStream;
                stdin.Write(input);
            });
            var error = process.StandardError.ReadToEndAsync();
            using var output = new MemoryStream();
            process.StandardOutput.BaseStream.CopyTo(output);
            writer.GetAwaiter().GetResult();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"sox {string.Join(' ', args)} failed (exit {process.ExitCode}): {error.Result.Trim()}");
            return output.ToArray();
        }
    }
}
