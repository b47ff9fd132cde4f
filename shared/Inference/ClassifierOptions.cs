using System.ComponentModel.DataAnnotations;

namespace Streaming.Inference;

public enum VotingMode
{
    /// <summary>The most frequent label of the last K speech windows; a tie goes to the tied label seen most recently.</summary>
    Majority,

    /// <summary>The argmax of the mean class probabilities of the last K speech windows.</summary>
    Average,
}

/// <summary>How the classifier turns frames into reported windows. Window length and hop come from the model's contract.</summary>
public sealed class ClassifierOptions
{
    public const string Section = "Classifier";

    /// <summary>K: how many recent speech windows vote. 3 windows at a 1 s hop smooth over about 5 s of audio.</summary>
    [Range(1, 100)]
    public int VotingWindows { get; set; } = 3;

    public VotingMode Voting { get; set; } = VotingMode.Majority;

    /// <summary>
    /// H: a speech window votes for the H windows from its own on (silence windows count, by index), then expires. 10 windows
    /// at a 1 s hop: a pause of up to 7 s inside an angry stretch keeps its votes. Bounding the history makes a takeover
    /// exact: the voted label of a window depends on the last H windows only, so a distributed classifier that takes a
    /// stream over re-reads a bounded stretch (docs/distributed.md, Delivery guarantees).
    /// </summary>
    [Range(1, 3600)]
    public int VoteHorizonWindows { get; set; } = 10;

    /// <summary>Most windows per model call. On CPU batching saves little per window; on a GPU it is most of the throughput.</summary>
    [Range(1, 1024)]
    public int MaxBatch { get; set; } = 16;

    /// <summary>
    /// A frame is voiced when its mean mel power is at least this many dB relative to full scale
    /// (see <see cref="SpeechGate"/>). -50 dBFS: about 25 dB below nominal telephone speech (-26 dBov); on the
    /// labelled corpora at 8 kHz with 2 s windows it leaves 1.4 % of RAVDESS clips (its quietest recordings)
    /// without a speech window, against 6 % at -45 dBFS (docs/benchmarks.md, Classifier).
    /// </summary>
    [Range(-120.0, 0.0)]
    public float SpeechThresholdDbfs { get; set; } = -50f;

    /// <summary>A window is speech when at least this fraction of its frames is voiced; otherwise it is reported as silence without a model call.</summary>
    [Range(0.0, 1.0)]
    public float MinVoicedFraction { get; set; } = 0.2f;

    /// <summary>
    /// Also require that a voiced window sounds like speech (<see cref="SpeechGate.IsSpeechWindow"/>): key tones,
    /// ring-back, hold music and line noise are then reported as silence instead of getting an emotion. Applies to
    /// log-mel models with the 8 kHz telephone features it was fitted on; off only for tests that feed synthetic constant frames.
    /// </summary>
    public bool RejectNonSpeech { get; set; } = true;

    /// <summary>
    /// Shortest stretch worth classifying: a stream shorter than a window is padded to a window only when it
    /// has at least this much audio, and an uncovered tail at the end of a stream gets its own window only
    /// when it is at least this long.
    /// </summary>
    [Range(0.0, 60.0)]
    public double MinClassifiedSeconds { get; set; } = 0.5;

    /// <summary>Ended streams remembered so that a redelivered message of a finished stream is ignored.</summary>
    [Range(0, 1_000_000)]
    public int ClosedStreamMemory { get; set; } = 4096;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        var context = new ValidationContext(this);
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, context, errors, validateAllProperties: true))
            throw new ArgumentException($"classifier options: {errors[0].ErrorMessage}");
        if (!Enum.IsDefined(Voting))
            throw new ArgumentException($"classifier options: {nameof(Voting)} '{Voting}' is not Majority or Average");
    }
}
