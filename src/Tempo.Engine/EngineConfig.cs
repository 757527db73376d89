namespace Tempo.Engine;

/// <summary>Capacity limits of one engine instance.</summary>
public sealed record EngineConfig
{
    /// <summary>Maximum sequences in one step (vLLM max_num_seqs).</summary>
    public int MaxBatch { get; init; } = 32;

    /// <summary>Maximum tokens processed in one step (vLLM max_num_batched_tokens).</summary>
    public int TokenBudget { get; init; } = 512;

    /// <summary>Tokens per KV block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>KV blocks on the accelerator.</summary>
    public int GpuBlocks { get; init; } = 28_200;

    /// <summary>KV blocks of CPU swap space.</summary>
    public int CpuBlocks { get; init; } = 4_096;

    /// <summary>Fraction of GPU blocks kept free when admitting new sequences (vLLM: 1%).</summary>
    public double WatermarkFraction { get; init; } = 0.01;

    /// <summary>Longest context (prompt + output) a request may have.</summary>
    public int MaxModelLen { get; init; } = 8192;

    /// <summary>GPU blocks that new admissions must leave free.</summary>
    public int WatermarkBlocks => (int)(WatermarkFraction * GpuBlocks);

    /// <summary>Throws <see cref="ArgumentException"/> on an impossible configuration.</summary>
    public void Validate()
    {
        Require(MaxBatch > 0, $"max batch must be positive, got {MaxBatch}");
        Require(TokenBudget > 0, $"token budget must be positive, got {TokenBudget}");
        Require(BlockSize > 0, $"block size must be positive, got {BlockSize}");
        Require(GpuBlocks > 0, $"GPU KV blocks must be positive, got {GpuBlocks}");
        Require(CpuBlocks >= 0, $"CPU swap blocks cannot be negative, got {CpuBlocks}");
        Require(WatermarkFraction is >= 0 and < 1, $"watermark fraction must be in [0,1), got {WatermarkFraction}");
        Require(MaxModelLen > 1, $"max model length must exceed 1, got {MaxModelLen}");
    }

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
