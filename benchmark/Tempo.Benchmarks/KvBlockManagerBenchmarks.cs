using BenchmarkDotNet.Attributes;

using Tempo.Engine;

namespace Tempo.Benchmarks;

/// <summary>
/// KV block manager operations at a chat-sized (512 tokens, 32 blocks) and a long (4,096 tokens, 256 blocks)
/// context. Block counts are integers, so the cost should not depend on the context; the two sizes check that.
/// </summary>
[MemoryDiagnoser]
public class KvBlockManagerBenchmarks
{
    private KvOperations _ops = null!;

    /// <summary>Context tokens each request holds.</summary>
    [Params(512, 4_096)]
    public int ContextTokens { get; set; }

    /// <summary>Builds a cache holding a full decode batch.</summary>
    [GlobalSetup]
    public void Setup() => _ops = new KvOperations(ContextTokens);

    /// <summary>Allocate a whole prefill's blocks, then free them.</summary>
    [Benchmark]
    public int AllocateAndFree() => _ops.AllocateAndFree();

    /// <summary>Extend a running request by one decoded token.</summary>
    [Benchmark]
    public int Extend() => _ops.Extend();

    /// <summary>Swap a request out to CPU and back in.</summary>
    [Benchmark]
    public int SwapOutAndIn() => _ops.SwapOutAndIn();

    /// <summary>Plan one decode step of a full 32-sequence batch through the step budget's KV accounting.</summary>
    [Benchmark]
    public StepPlan PlanDecodeBatch() => _ops.PlanDecodeBatch();
}
