using System.Text;
using Streaming.Audio;
using Streaming.Training.Models;

namespace Streaming.Tests.Training;

/// <summary>
/// A tiny labelled corpus written to a temporary folder: each class is a tone at its own pitch with
/// noise, so a model can learn it in a few steps. Rows follow the real manifest's columns.
/// </summary>
internal sealed class GeneratedCorpus : IDisposable
{
    public static readonly string[] Labels = ["neutral", "happy", "sad", "angry"];
    private static readonly double[] Pitch = [200, 400, 800, 1600];

    public GeneratedCorpus(int speakers = 4, int filesPerClass = 3, double seconds = 1.2)
    {
        Folder = Path.Combine(Path.GetTempPath(), "training-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
        var rng = new Random(11);
        var csv = new StringBuilder("path,corpus,speaker,gender,emotion,label4,split,fold\n");
        for (int s = 0; s < speakers; s++)
        {
            for (int c = 0; c < Labels.Length; c++)
            {
                for (int f = 0; f < filesPerClass; f++)
                {
                    // some files shorter than a window, some longer, so padding and cropping both run
                    var length = (int)(8000 * seconds * (0.5 + rng.NextDouble()));
                    var signal = new float[length];
                    for (int i = 0; i < length; i++)
                        signal[i] = (float)(0.3 * Math.Sin(2 * Math.PI * Pitch[c] * (1 + 0.02 * s) * i / 8000) + 0.02 * (rng.NextDouble() - 0.5));
                    var rel = $"spk{s}/{Labels[c]}_{f}.wav";
                    Directory.CreateDirectory(Path.Combine(Folder, $"spk{s}"));
                    WavWriter.WritePcm16(Path.Combine(Folder, rel), 8000, 1, signal);
                    csv.Append($"{rel},gen,gen_{s},{(s % 2 == 0 ? "M" : "F")},{Labels[c]},{Labels[c]},train,{s}\n");
                }
            }
        }
        ManifestPath = Path.Combine(Folder, "manifest.csv");
        File.WriteAllText(ManifestPath, csv.ToString());
    }

    /// <summary>The smallest CNN-BiLSTM the training tests train on this corpus, in a few seconds.</summary>
    public static ModelSpec TinyCnnBiLstm(bool prosody = false) =>
        new(ModelSpec.CnnBiLstmName, [4, 8, 8, 8], 8, 0.1, Labels, 100, 50, "smoke", "0.0.1", "generated tones", "test only", Prosody: prosody);

    public string Folder { get; }

    public string ManifestPath { get; }

    public void Dispose()
    {
        try { Directory.Delete(Folder, recursive: true); }
        catch (IOException) { } // a leftover temp folder is harmless
    }
}
