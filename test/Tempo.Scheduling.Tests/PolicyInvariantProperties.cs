using CsCheck;

using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Scheduling.Tests;

/// <summary>
/// Every registered policy, present and future (iterates <see cref="PolicyRegistry.All"/>), run to completion on
/// random mixed workloads with small KV caches (preemption) and tiny swap space (swap falls back to recompute).
/// The harness checks the engine's invariants, the token budget and the batch cap after every step.
/// </summary>
public class PolicyInvariantProperties
{
    public static TheoryData<string> Policies => [.. PolicyRegistry.All.Select(p => p.Name)];

    private static readonly Gen<Load> LoadGen =
        Gen.Select(
            Gen.Select(Gen.Int[1, 8], Gen.Int[60, 160], Gen.Int[0, 24], Gen.Int[0, 1000], (batch, gpu, cpu, seed) => (batch, gpu, cpu, seed)),
            Gen.Select(Gen.Int[1, 600], Gen.Int[1, 300], Gen.Double[0, 2], Gen.Int[0, 999], (p, o, a, salt) => (p, o, a, salt)).Array[1, 20],
            (cfg, reqs) => new Load(cfg.batch, cfg.gpu, cfg.cpu, cfg.seed, Workload(reqs)));

    [Theory]
    [MemberData(nameof(Policies))]
    public void Run_RandomWorkload_KeepsInvariantsAndEndsEveryRequestExactlyOnce(string policy)
    {
        LoadGen.Sample(load =>
        {
            var sim = Run(policy, load);

            Assert.Equal(load.Specs.Select(s => s.Id).Order(), sim.Ends.Keys.Order());
            Assert.All(sim.Ends.Values, n => Assert.Equal(1, n));
            Assert.Equal(sim.Engine.Kv.TotalGpuBlocks, sim.Engine.Kv.FreeGpuBlocks);
            Assert.Equal(sim.Engine.Kv.TotalCpuBlocks, sim.Engine.Kv.FreeCpuBlocks);
            Assert.All(sim.Records, r => Assert.True(r.Completed ? r.TokenTimesS.Count == r.Spec.OutputTokens : !string.IsNullOrEmpty(r.Detail)));
        }, iter: 8, print: l => l.ToString());
    }

    [Theory]
    [MemberData(nameof(Policies))]
    public void Run_SameSeedTwice_GivesBitIdenticalRecords(string policy)
    {
        LoadGen.Sample(load =>
        {
            var a = Run(policy, load).Records;
            var b = Run(policy, load).Records;

            Assert.Equal(a.Select(Fingerprint), b.Select(Fingerprint));
        }, iter: 2, print: l => l.ToString());
    }

    private static string Fingerprint(RequestRecord r) =>
        $"{r.Spec.Id}:{r.Reason}:{BitConverter.DoubleToInt64Bits(r.FinishS)}:{string.Join(',', r.TokenTimesS.Select(BitConverter.DoubleToInt64Bits))}";

    private static SimHarness Run(string policy, Load load)
    {
        var info = PolicyRegistry.Get(policy);
        var config = new EngineConfig
        {
            MaxBatch = load.MaxBatch,
            TokenBudget = info.DefaultTokenBudget,
            GpuBlocks = load.GpuBlocks,
            CpuBlocks = load.CpuBlocks,
            MaxModelLen = 1024,
        };
        var scheduler = info.Create(new SchedulerOptions { Engine = config, Seed = load.Seed });
        return new SimHarness(scheduler, config).Run(load.Specs, maxSteps: 50_000);
    }

    /// <summary>Mixed classes, clients and priorities; consecutive collective calls pair up as two stages of one job.</summary>
    private static RequestSpec[] Workload((int P, int O, double A, int Salt)[] reqs)
    {
        var specs = new List<RequestSpec>();
        RequestSpec? openStage0 = null;
        for (var i = 0; i < reqs.Length; i++)
        {
            var (p, o, a, salt) = reqs[i];
            var cls = (RequestClass)(salt % 3);
            var slo = new Slo(0.5 + (salt % 7 * 0.1), 0.02 + (salt % 5 * 0.01), 1 + (salt % 11));
            var spec = Specs.Make(i + 1, p, o, cls, Math.Round(a, 3), slo, priority: salt / 9 % 4, client: salt / 3 % 3);
            if (cls == RequestClass.Collective)
            {
                spec = openStage0 is null
                    ? spec with { JobId = 1000 + i, Stage = 0, StageCount = 1 }
                    : spec with { JobId = openStage0.JobId, ArrivalS = openStage0.ArrivalS, Stage = 1, StageCount = 2 };
                if (openStage0 is null)
                {
                    openStage0 = spec;
                }
                else
                {
                    var index = specs.IndexOf(openStage0);
                    specs[index] = openStage0 with { StageCount = 2 };
                    openStage0 = null;
                }
            }

            specs.Add(spec);
        }

        return [.. specs];
    }

    internal sealed record Load(int MaxBatch, int GpuBlocks, int CpuBlocks, int Seed, RequestSpec[] Specs)
    {
        public override string ToString() =>
            $"batch {MaxBatch}, gpu {GpuBlocks}, cpu {CpuBlocks}, seed {Seed}: " +
            string.Join("; ", Specs.Select(s => $"{s.Id} {s.Class} p{s.PromptTokens} o{s.OutputTokens} @{s.ArrivalS} job {s.JobId}/{s.Stage}"));
    }
}
