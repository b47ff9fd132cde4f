#:project ../shared/Audio/Streaming.Audio.csproj
// Builds the bundled demo calls from EMO-DB clips (CC0). Not part of the build or CI: run by hand
// from the repository root when the call scripts below change:
//   dotnet run samples/build-samples.cs -- ../shared/data/emotion samples
// Writes samples/<call>.wav (stereo 8 kHz PCM16: left = customer, right = agent) and
// samples/<call>.csv, the ground truth: one row per clip with its time span and EMO-DB label.
using System.Globalization;
using System.Text;
using Streaming.Audio;

const int Rate = 8000;
const double GapInTurn = 0.25;                        // between two sentences of one speaker
double[] pauses = [0.6, 0.45, 0.8, 0.5, 0.7, 0.4, 0.9, 0.55, 0.65, 0.5]; // between turns, cycled
const double Lead = 0.5;                              // silence before the first and after the last turn

var dataDir = args.Length > 0 ? args[0] : "../shared/data/emotion";
var outDir = args.Length > 1 ? args[1] : "samples";

// A call is a list of turns; a turn is one party saying one or more EMO-DB clips in a row.
// Customer: EMO-DB speaker 03 (male), neutral, then angry. Agent: speaker 08 (female), neutral/happy.
var angry = new (Party Party, string[] Clips)[]
{
    (Party.Agent, ["08a01Na", "08a04Nc"]),
    (Party.Customer, ["03b01Nb", "03a05Nd"]),
    (Party.Agent, ["08b01Na"]),
    (Party.Customer, ["03b03Nb"]),
    (Party.Agent, ["08b01Fd", "08a05Fe"]),
    (Party.Customer, ["03b02Wb", "03a05Wa"]),
    (Party.Agent, ["08b09Nb"]),
    (Party.Customer, ["03b03Wc", "03b09Wa"]),
    (Party.Agent, ["08b02Nb"]),
    (Party.Customer, ["03a05Wb"]),
    (Party.Agent, ["08b03Fe"]),
};
// Customer: speaker 15 (male), neutral, then happy. Agent: speaker 13 (female), neutral, then happy.
var calm = new (Party Party, string[] Clips)[]
{
    (Party.Agent, ["13a01Nb", "13b01Nc"]),
    (Party.Customer, ["15b01Na", "15a05Na"]),
    (Party.Agent, ["13b09Na"]),
    (Party.Customer, ["15b03Nb", "15b09Nb"]),
    (Party.Agent, ["13b02Nb", "13a05Nb"]),
    (Party.Customer, ["15b02Nd"]),
    (Party.Agent, ["13b09Fb", "13b02Fb"]),
    (Party.Customer, ["15a05Fb", "15b09Fa"]),
    (Party.Agent, ["13b03Fd"]),
    (Party.Customer, ["15a07Fa"]),
};

Build("call-angry-customer", angry);
Build("call-calm", calm);

void Build(string name, (Party Party, string[] Clips)[] turns)
{
    var customer = new List<float>();
    var agent = new List<float>();
    var truth = new StringBuilder("start,end,channel,role,speaker,clip,emotion\n");
    var at = Lead;
    for (var t = 0; t < turns.Length; t++)
    {
        var (party, clips) = turns[t];
        for (var c = 0; c < clips.Length; c++)
        {
            var samples = ReadClip(clips[c]);
            var start = (int)Math.Round(at * Rate);
            var track = party == Party.Customer ? customer : agent;
            PadTo(track, start);
            track.AddRange(samples);
            var end = start + samples.Length;
            truth.Append(CultureInfo.InvariantCulture,
                $"{start / (double)Rate:F3},{end / (double)Rate:F3},{(int)party},{party.ToString().ToLowerInvariant()},emodb_{clips[c][..2]},{clips[c]},{Emotion(clips[c][5])}\n");
            at = end / (double)Rate + (c < clips.Length - 1 ? GapInTurn : pauses[t % pauses.Length]);
        }
    }
    var frames = (int)Math.Round((at - pauses[(turns.Length - 1) % pauses.Length] + Lead) * Rate);
    PadTo(customer, frames);
    PadTo(agent, frames);

    var stereo = new float[2 * frames];
    for (var i = 0; i < frames; i++)
    {
        stereo[2 * i] = customer[i];
        stereo[2 * i + 1] = agent[i];
    }
    WavWriter.WritePcm16(Path.Combine(outDir, name + ".wav"), Rate, 2, stereo);
    File.WriteAllText(Path.Combine(outDir, name + ".csv"), truth.ToString());
    Console.WriteLine($"{name}.wav: {frames / (double)Rate:F2} s, {44 + 4L * frames} bytes");
    Console.Write(truth);
}

float[] ReadClip(string id)
{
    // The team's copy is 8 kHz mono; the original corpus is 16 kHz: resample whatever comes.
    using var reader = WavReader.Open(Path.Combine(dataDir, "emodb", id + ".wav"));
    var format = reader.Format;
    var interleaved = new float[checked((int)reader.TotalFrames!.Value * format.Channels)];
    var read = 0;
    int n;
    while ((n = reader.Read(interleaved.AsSpan(read))) > 0) read += n;
    var mono = new float[interleaved.Length / format.Channels];
    ChannelSplitter.Deinterleave(interleaved, format.Channels, 0, mono);
    if (format.SampleRate == Rate) return mono;
    var resampler = new Resampler(format.SampleRate, Rate);
    var output = new float[resampler.MaxOutputLength(mono.Length) + resampler.MaxOutputLength(0)];
    var written = resampler.Process(mono, output);
    written += resampler.Flush(output.AsSpan(written));
    return output[..written];
}

static void PadTo(List<float> track, int length)
{
    if (track.Count > length) throw new InvalidOperationException("turns overlap on one channel");
    track.AddRange(new float[length - track.Count]);
}

static string Emotion(char letter) => letter switch
{
    'W' => "angry",
    'T' => "sad",
    'F' => "happy",
    'N' => "neutral",
    _ => throw new ArgumentException($"EMO-DB emotion letter '{letter}' is not one of the four classes"),
};

enum Party { Customer = 0, Agent = 1 }
