namespace Tempo.Engine;

/// <summary>
/// Block-granular KV-cache accounting on the accelerator and in CPU swap space (vLLM-style paged KV).
/// Only the engine moves blocks; schedulers plan against a <see cref="StepBudget"/> that applies the same rules.
/// </summary>
public sealed class KvBlockManager
{
    internal KvBlockManager(EngineConfig config)
    {
        BlockSize = config.BlockSize;
        TotalGpuBlocks = config.GpuBlocks;
        TotalCpuBlocks = config.CpuBlocks;
        WatermarkBlocks = config.WatermarkBlocks;
        FreeGpuBlocks = TotalGpuBlocks;
        FreeCpuBlocks = TotalCpuBlocks;
    }

    /// <summary>Tokens per block.</summary>
    public int BlockSize { get; }

    /// <summary>All accelerator blocks.</summary>
    public int TotalGpuBlocks { get; }

    /// <summary>All CPU swap blocks.</summary>
    public int TotalCpuBlocks { get; }

    /// <summary>Blocks a new admission must leave free.</summary>
    public int WatermarkBlocks { get; }

    /// <summary>Unallocated accelerator blocks.</summary>
    public int FreeGpuBlocks { get; private set; }

    /// <summary>Unallocated CPU swap blocks.</summary>
    public int FreeCpuBlocks { get; private set; }

    /// <summary>Fraction of accelerator blocks in use.</summary>
    public double GpuUsage => 1 - ((double)FreeGpuBlocks / TotalGpuBlocks);

    /// <summary>Fraction of CPU swap blocks free (1 when there is no swap space).</summary>
    public double FreeCpuFraction => TotalCpuBlocks == 0 ? 0 : (double)FreeCpuBlocks / TotalCpuBlocks;

    /// <summary>Epoch of the newest <see cref="StepBudget"/> made for this engine: the one whose stamps on requests are valid.</summary>
    internal long CurrentBudgetEpoch { get; set; }

    /// <summary>Blocks needed to hold <paramref name="tokens"/> tokens.</summary>
    public int BlocksFor(int tokens) => (tokens + BlockSize - 1) / BlockSize;

    internal void Grow(EngineRequest r, int computedTokensAfter)
    {
        var need = BlocksFor(computedTokensAfter) - r.GpuBlocks;
        if (need <= 0)
        {
            return;
        }

        if (need > FreeGpuBlocks)
        {
            throw new InvalidOperationException($"KV over-allocation: {r} needs {need} blocks, {FreeGpuBlocks} free.");
        }

        FreeGpuBlocks -= need;
        r.GpuBlocks += need;
    }

    internal void FreeGpu(EngineRequest r)
    {
        FreeGpuBlocks += r.GpuBlocks;
        r.GpuBlocks = 0;
    }

    internal void FreeCpu(EngineRequest r)
    {
        FreeCpuBlocks += r.CpuBlocks;
        r.CpuBlocks = 0;
    }

    internal bool CanSwapOut(EngineRequest r) => r.GpuBlocks <= FreeCpuBlocks;

    internal void SwapOut(EngineRequest r)
    {
        if (!CanSwapOut(r))
        {
            throw new InvalidOperationException($"no CPU swap space for {r}");
        }

        FreeCpuBlocks -= r.GpuBlocks;
        r.CpuBlocks = r.GpuBlocks;
        FreeGpu(r);
    }

    internal void SwapIn(EngineRequest r)
    {
        if (r.CpuBlocks > FreeGpuBlocks)
        {
            throw new InvalidOperationException($"KV over-allocation on swap-in of {r}");
        }

        FreeGpuBlocks -= r.CpuBlocks;
        r.GpuBlocks = r.CpuBlocks;
        FreeCpu(r);
    }
}
