using System.Globalization;

namespace Streaming.Training.Data;

/// <summary>One labelled file of a manifest. <see cref="Fold"/> is null where the manifest has no fold.</summary>
internal sealed record ManifestRow(
    int Line, string Path, string Corpus, string Speaker, string Gender, int Label, string Split, int? Fold)
{
    public string Describe() => $"row {Line} ({System.IO.Path.GetFileName(Path)})";
}

/// <summary>
/// Reads a manifest CSV (header row; columns path and label4 required; corpus, speaker, gender, split and
/// fold optional). <c>path</c> is relative to the manifest's folder. Rows without a 4-class label are not
/// errors (the corpora have emotions outside the shared set); an unknown label or a bad fold is a problem
/// naming the row, and the row is left out.
/// </summary>
internal static class Manifest
{
    public sealed record Result(IReadOnlyList<ManifestRow> Rows, IReadOnlyList<string> Problems, int Unlabelled);

    public static Result Load(string csvPath, IReadOnlyList<string> labels)
    {
        if (!File.Exists(csvPath)) throw new FileNotFoundException($"manifest '{csvPath}' not found", csvPath);
        var lines = File.ReadAllLines(csvPath);
        if (lines.Length == 0) throw new InvalidDataException($"manifest '{csvPath}' is empty");
        var header = SplitCsv(lines[0]);
        int Column(string name, bool required)
        {
            var i = Array.FindIndex(header, h => string.Equals(h.Trim(), name, StringComparison.OrdinalIgnoreCase));
            if (i < 0 && required) throw new InvalidDataException($"manifest '{csvPath}': header lacks the '{name}' column");
            return i;
        }
        int path = Column("path", true), label = Column("label4", true);
        int corpus = Column("corpus", false), speaker = Column("speaker", false), gender = Column("gender", false);
        int split = Column("split", false), fold = Column("fold", false);
        var root = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(csvPath))!;

        var rows = new List<ManifestRow>();
        var problems = new List<string>();
        int unlabelled = 0;
        for (int n = 1; n < lines.Length; n++)
        {
            if (string.IsNullOrWhiteSpace(lines[n])) continue;
            var f = SplitCsv(lines[n]);
            string Get(int i) => i >= 0 && i < f.Length ? f[i].Trim() : "";
            int line = n + 1;
            if (Get(path).Length == 0) { problems.Add($"{csvPath} row {line}: empty path"); continue; }
            var l = Get(label);
            if (l.Length == 0) { unlabelled++; continue; }
            int labelIndex = IndexOf(labels, l);
            if (labelIndex < 0) { problems.Add($"{csvPath} row {line}: unknown label4 '{l}' (expected one of {string.Join(", ", labels)})"); continue; }
            int? foldValue = null;
            if (Get(fold).Length > 0)
            {
                if (!int.TryParse(Get(fold), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fv) || fv < 0)
                { problems.Add($"{csvPath} row {line}: fold '{Get(fold)}' is not a non-negative integer"); continue; }
                foldValue = fv;
            }
            var full = System.IO.Path.GetFullPath(System.IO.Path.Combine(root, Get(path)));
            var spk = Get(speaker);
            rows.Add(new ManifestRow(line, full, Get(corpus), spk.Length > 0 ? spk : $"row{line}", Get(gender), labelIndex, Get(split), foldValue));
        }
        return new Result(rows, problems, unlabelled);
    }

    private static int IndexOf(IReadOnlyList<string> labels, string label)
    {
        for (int i = 0; i < labels.Count; i++)
            if (string.Equals(labels[i], label, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    /// <summary>Splits one CSV line; fields may be double-quoted with "" as an escaped quote.</summary>
    private static string[] SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"') { current.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else current.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { fields.Add(current.ToString()); current.Clear(); }
            else current.Append(c);
        }
        fields.Add(current.ToString());
        return [.. fields];
    }
}
