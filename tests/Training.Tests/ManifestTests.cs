using Streaming.Training.Data;

namespace Streaming.Tests.Training;

public sealed class ManifestTests
{
    private static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];

    [Fact]
    public void Load_UnknownLabelAndBadFold_ReportsRowsAndKeepsTheRest()
    {
        var csv = Write("path,label4,fold,gender\na.wav,angry,0,F\nb.wav,bored,1,M\nc.wav,sad,x,M\nd.wav,,2,M\n");

        var result = Manifest.Load(csv, Labels);

        var row = Assert.Single(result.Rows);
        Assert.Equal(3, row.Label);
        Assert.Equal(0, row.Fold);
        Assert.Equal(Path.Combine(Path.GetDirectoryName(csv)!, "a.wav"), row.Path);
        Assert.Equal(2, result.Problems.Count);
        Assert.Contains("row 3", result.Problems[0]);
        Assert.Contains("bored", result.Problems[0]);
        Assert.Contains("row 4", result.Problems[1]);
        Assert.Equal(1, result.Unlabelled);
    }

    [Fact]
    public void Load_MissingLabelColumn_ThrowsNamingColumn()
    {
        var csv = Write("path,emotion\na.wav,angry\n");

        var e = Assert.Throws<InvalidDataException>(() => Manifest.Load(csv, Labels));
        Assert.Contains("label4", e.Message);
    }

    private static string Write(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"manifest-{Guid.NewGuid():N}.csv");
        File.WriteAllText(path, text);
        return path;
    }
}
