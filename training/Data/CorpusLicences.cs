namespace Streaming.Training.Data;

/// <summary>
/// What a model's metadata says about the corpora it was trained on: their names and licences, from the
/// rows actually trained on, so a model trained on RAVDESS alone does not claim TurEV-DB or its terms.
/// </summary>
internal static class CorpusLicences
{
    private static readonly Dictionary<string, (string Name, string Licence, bool NonCommercial)> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        ["ravdess"] = ("RAVDESS speech", "CC BY-NC-SA 4.0", true),
        ["turevdb"] = ("TurEV-DB", "CC BY-NC-ND 4.0", true),
        ["emodb"] = ("EMO-DB", "CC0", false),
    };

    public static (string TrainingData, string Licence) Describe(IEnumerable<string> corpora)
    {
        var parts = corpora.Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase)
            .Select(c => Known.TryGetValue(c, out var k) ? k : (Name: c, Licence: "licence not recorded", NonCommercial: false))
            .ToList();
        var data = $"{string.Join(" + ", parts.Select(p => p.Name))} (train split), 8 kHz, telephone augmentation";
        var licence = $"Trained on {string.Join(" and ", parts.Select(p => $"{p.Name} ({p.Licence})"))}"
            + (parts.Any(p => p.NonCommercial) ? ": non-commercial use only; see models/README.md" : "; see models/README.md");
        return (data, licence);
    }
}
