using System.Buffers.Binary;
using System.Text.Json;

namespace Streaming.Tests.Pipeline;

/// <summary>The `analyze` command end to end: bundled sample, shipped model, real files on disk.</summary>
public sealed class AnalyzeCommandTests
{
    [Fact]
    public void Analyze_BundledSample_JsonHasTwoSpeakersWithSegments()
    {
        var json = Cli.TempFile(".json");
        var html = Cli.TempFile(".html");
        var (code, stdout, stderr) = Cli.Run("analyze", Cli.Sample("call-angry-customer.wav"), "--json", json, "--html", html);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        Assert.Contains("customer", stdout);
        Assert.Contains("Legend", stdout);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        var root = doc.RootElement;
        Assert.Equal("call-angry-customer", root.GetProperty("callId").GetString());
        Assert.False(string.IsNullOrEmpty(root.GetProperty("model").GetProperty("name").GetString()));
        Assert.False(string.IsNullOrEmpty(root.GetProperty("model").GetProperty("version").GetString()));
        Assert.InRange(root.GetProperty("durationSeconds").GetDouble(), 55.0, 55.2);
        var speakers = root.GetProperty("speakers").EnumerateArray().ToList();
        Assert.Equal(["customer", "agent"], speakers.Select(s => s.GetProperty("speaker").GetString()));
        foreach (var speaker in speakers)
        {
            var segments = speaker.GetProperty("segments").EnumerateArray().ToList();
            Assert.NotEmpty(segments);
            Assert.Contains(segments, s => s.GetProperty("label").GetString() != "silence");
            foreach (var s in segments)
            {
                Assert.True(s.GetProperty("end").GetDouble() > s.GetProperty("start").GetDouble());
                Assert.InRange(s.GetProperty("confidence").GetDouble(), 0, 1);
            }
            var windows = speaker.GetProperty("windows").EnumerateArray().ToList();
            Assert.True(windows.Count >= 50, $"{windows.Count} windows for 55 s at a 1 s hop");
        }
        Assert.True(root.GetProperty("summary").GetProperty("call").GetProperty("speechSeconds").GetDouble() > 10);
        var page = File.ReadAllText(html);
        Assert.Contains("<svg", page);
        Assert.Contains("polyline", page);
        Assert.DoesNotContain("<script src", page);
    }

    [Fact]
    public void Analyze_CustomerOnly_JsonHasNoAgent()
    {
        var json = Cli.TempFile(".json");
        var (code, _, stderr) = Cli.Run("analyze", Cli.Sample("call-calm.wav"), "--customer-only", "--quiet", "--json", json);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(["customer"], doc.RootElement.GetProperty("speakers").EnumerateArray().Select(s => s.GetProperty("speaker").GetString()));
    }

    [Fact]
    public void Analyze_TwoFiles_JsonIsAnArrayOfCalls()
    {
        var json = Cli.TempFile(".json");
        var (code, _, stderr) = Cli.Run("analyze", Cli.Sample("call-calm.wav"), Cli.Sample("call-angry-customer.wav"), "--quiet", "--json", json);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(["call-calm", "call-angry-customer"], doc.RootElement.EnumerateArray().Select(c => c.GetProperty("callId").GetString()));
    }

    [Fact]
    public void Analyze_FileNamesThatWouldCollide_GetDistinctCallIds()
    {
        var dir = Directory.CreateTempSubdirectory("streaming-ids-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "b"));
        string[] paths = [Path.Combine(dir, "a.wav"), Path.Combine(dir, "b", "a.wav"), Path.Combine(dir, "a-2.wav")];
        foreach (var path in paths) File.Copy(Cli.Sample("call-calm.wav"), path);
        var json = Cli.TempFile(".json");
        var (code, _, stderr) = Cli.Run(["analyze", .. paths, "--quiet", "--json", json]);

        Assert.True(code == 0, $"exit {code}: {stderr}");
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(["a", "a-2", "a-2-2"], doc.RootElement.EnumerateArray().Select(c => c.GetProperty("callId").GetString()));
    }

    public static TheoryData<string, byte[], string> BadFiles => new()
    {
        { "corrupt", "this is not a wav file at all"u8.ToArray(), "RIFF" },
        { "truncated", Wav(8000, 1, 1, 16, new byte[1000], claimedDataBytes: 4_000_000_000), "truncated" },
        { "empty", Wav(8000, 1, 1, 16, [], claimedDataBytes: null), "zero-length" },
        { "nan", Wav(8000, 1, 3, 32, FloatBytes([0.1f, float.NaN, 0.2f]), claimedDataBytes: null), "NaN" },
        { "adpcm", Wav(8000, 1, 2, 4, new byte[100], claimedDataBytes: null), "unsupported encoding" },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void Analyze_BadFile_OneLineErrorNamingTheFileAndExitCode1(string name, byte[] bytes, string problem)
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{name}-{Guid.NewGuid():N}.wav");
        File.WriteAllBytes(path, bytes);
        var (code, _, stderr) = Cli.Run("analyze", path, "--quiet");

        Assert.Equal(1, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(Path.GetFileName(path), line);
        Assert.Contains(problem, line, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("   at ", stderr); // no stack trace for an expected error
    }

    [Fact]
    public void Analyze_BadFileAmongGoodOnes_OthersStillAnalyzed()
    {
        var bad = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.wav");
        File.WriteAllBytes(bad, "RIFF...."u8.ToArray());
        var json = Cli.TempFile(".json");
        var (code, _, stderr) = Cli.Run("analyze", bad, Cli.Sample("call-calm.wav"), "--quiet", "--json", json);

        Assert.Equal(1, code);
        Assert.Contains(Path.GetFileName(bad), stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal("call-calm", doc.RootElement.GetProperty("callId").GetString());
    }

    [Fact]
    public void Analyze_MissingModel_ExitCode2NamingTheFile()
    {
        var (code, _, stderr) = Cli.Run("analyze", Cli.Sample("call-calm.wav"), "--model", "/nonexistent/model.onnx");

        Assert.Equal(2, code);
        Assert.Contains("/nonexistent/model.onnx", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Analyze_ModelThatIsNotOnnx_ExitCode2()
    {
        var model = Cli.TempFile(".onnx");
        File.WriteAllText(model, "not a model");
        var (code, _, stderr) = Cli.Run("analyze", Cli.Sample("call-calm.wav"), "--model", model);

        Assert.Equal(2, code);
        Assert.Contains(Path.GetFileName(model), stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Theory]
    [InlineData("--json", "/nonexistent-dir/out.json", "does not exist")]
    [InlineData("--html", "/", "is a directory")]
    [InlineData("--voting", "bogus", "bogus")]
    [InlineData("--threads", "abc", "abc")]
    [InlineData("--vote-windows", "0", "VotingWindows")]
    [InlineData("--agent-channel", "0", "both 0")]
    public void Analyze_BadOption_OneLineErrorAndExitCode2(string option, string value, string problem)
    {
        var (code, _, stderr) = Cli.Run("analyze", Cli.Sample("call-calm.wav"), "--quiet", option, value);

        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(problem, line);
    }

    [Fact]
    public void Analyze_CustomerChannelBeyondStereo_NamesTheCustomerChannel()
    {
        var (code, _, stderr) = Cli.Run("analyze", Cli.Sample("call-calm.wav"), "--quiet", "--customer-channel", "3");

        Assert.Equal(1, code);
        Assert.Contains("customer channel 3 does not exist", stderr);
    }

    [Fact]
    public void Analyze_MissingWav_ExitCode1NamingTheFile()
    {
        var (code, _, stderr) = Cli.Run("analyze", "/nonexistent/call.wav", "--quiet");

        Assert.Equal(1, code);
        Assert.Contains("/nonexistent/call.wav", stderr);
    }

    private static byte[] FloatBytes(float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (var i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return bytes;
    }

    private static byte[] Wav(int rate, int channels, ushort tag, ushort bits, byte[] data, uint? claimedDataBytes)
    {
        var bytes = new byte[44 + data.Length];
        "RIFF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)(36 + data.Length));
        "WAVEfmt "u8.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(20), tag);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(22), (ushort)channels);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24), (uint)rate);
        var align = (ushort)Math.Max(1, channels * bits / 8);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(28), (uint)(rate * align));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(32), align);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(34), bits);
        "data"u8.CopyTo(bytes.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(40), claimedDataBytes ?? (uint)data.Length);
        data.CopyTo(bytes.AsSpan(44));
        return bytes;
    }
}
