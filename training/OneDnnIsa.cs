using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Streaming.Training;

/// <summary>
/// Caps oneDNN (libtorch's CPU convolution library) at AVX2 before any tensor work. On AVX-512 machines
/// (Zen 4) libtorch-cpu 2.10's oneDNN AVX-512 kernels gave NaN training losses and convolutions off by
/// 0.1 from ONNX Runtime; with the cap every training and parity test passes. oneDNN reads the variable
/// from the native environment when it first dispatches, which managed Environment.SetEnvironmentVariable
/// does not reach on Linux, hence libc's setenv. An explicit DNNL_MAX_CPU_ISA in the environment wins.
/// </summary>
internal static partial class OneDnnIsa
{
    [ModuleInitializer]
    internal static void CapAtAvx2()
    {
        if (OperatingSystem.IsLinux())
            _ = SetEnv("DNNL_MAX_CPU_ISA", "AVX2", overwrite: 0);
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);
}
