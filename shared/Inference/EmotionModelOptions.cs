using System.ComponentModel.DataAnnotations;

namespace Streaming.Inference;

/// <summary>How the process runs the model: file, threads, execution provider.</summary>
public sealed class EmotionModelOptions
{
    public const string Section = "Model";

    public const string Auto = "auto";
    public const string Cpu = "cpu";
    public const string Cuda = "cuda";

    [Required]
    public string Path { get; set; } = "models/emotion-cnn-bilstm.onnx";

    /// <summary>
    /// Threads ONNX Runtime uses inside one model call. 1 by default: on a shared CPU two threads are
    /// slower than one under load (see docs/benchmarks.md), and a pipeline runs many calls anyway.
    /// </summary>
    [Range(1, 256)]
    public int IntraOpThreads { get; set; } = 1;

    /// <summary>"auto" (CUDA when this ONNX Runtime build has it and it starts, else CPU), "cpu" or "cuda" (fail if CUDA cannot start).</summary>
    [Required]
    [RegularExpression("^(auto|cpu|cuda)$", ErrorMessage = "ExecutionProvider must be 'auto', 'cpu' or 'cuda'")]
    public string ExecutionProvider { get; set; } = Auto;

    [Range(0, 64)]
    public int CudaDeviceId { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        var errors = new List<ValidationResult>();
        if (!Validator.TryValidateObject(this, new ValidationContext(this), errors, validateAllProperties: true))
            throw new ArgumentException($"model options: {errors[0].ErrorMessage}");
    }
}
