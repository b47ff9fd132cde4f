using Streaming.Training.Data;

namespace Streaming.Tests.Training;

public sealed class CorpusLicencesTests
{
    [Fact]
    public void Describe_RavdessOnly_NamesItsLicenceAndNotTurev()
    {
        var (data, licence) = CorpusLicences.Describe(["ravdess", "ravdess"]);

        Assert.Equal("RAVDESS speech (train split), 8 kHz, telephone augmentation", data);
        Assert.Equal("Trained on RAVDESS speech (CC BY-NC-SA 4.0): non-commercial use only; see models/README.md", licence);
    }

    [Fact]
    public void Describe_TwoKnownAndOneUnknownCorpus_ListsAllAndFlagsTheUnknown()
    {
        var (data, licence) = CorpusLicences.Describe(["turevdb", "mycalls", "ravdess"]);

        Assert.Equal("mycalls + RAVDESS speech + TurEV-DB (train split), 8 kHz, telephone augmentation", data);
        Assert.Contains("mycalls (licence not recorded)", licence);
        Assert.Contains("TurEV-DB (CC BY-NC-ND 4.0)", licence);
        Assert.EndsWith("non-commercial use only; see models/README.md", licence);
    }
}
