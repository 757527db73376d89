using Tempo.Core;
using Tempo.Engine;
using Tempo.Scheduling;

namespace Tempo.Llama.Tests;

[Collection(TinyModelGroup.Name)]
public sealed class LlamaExecutorTests(TinyModel tiny)
{
    private static readonly string[] Prompts =
    [
        "the cat of a dog",
        "serve the request before the deadline, and keep the latency low for every batch",
        "a",
        string.Join(' ', Enumerable.Repeat("one model token two model tokens", 12)),
    ];

    private LlamaModel Model => tiny.Model;

    [Fact]
    public void Step_FourConcurrentRequestsUnderSarathi_EachGetsItsTokens()
    {
        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64);
        using var executor = Model.CreateExecutor(config);
        var engine = new EngineCore(config, Sarathi(config), executor, new WallClock());
        var outputs = new[] { 12, 7, 20, 9 };
        for (var i = 0; i < Prompts.Length; i++)
        {
            engine.Submit(TinyModel.Spec(Model, i, Prompts[i], outputs[i]));
        }

        var run = TinyModel.RunToEnd(engine);

        Assert.True(Model.Tokenize(Prompts[3], addBos: true).Length > config.TokenBudget, "the long prompt must be prefilled in chunks");
        for (var i = 0; i < Prompts.Length; i++)
        {
            Assert.Equal(FinishReason.Length, run.Records[i].Reason);
            Assert.Equal(outputs[i], run.Records[i].TokenTimesS.Count);
            Assert.Equal(outputs[i], run.Tokens[i].Count);
            Assert.All(run.Tokens[i], t => Assert.InRange(t, 0, Model.VocabularySize - 1));
            Assert.Equal(System.Text.Encoding.UTF8.GetString([.. run.Tokens[i].SelectMany(Model.TokenBytes)]), run.Text[i]);
        }

        Assert.True(engine.Stats.BusyS > 0);
    }

    [Fact]
    public void Step_PerSequenceKvLayout_RequestsFinishWithinTheirSlices()
    {
        using var model = LlamaModel.Load(tiny.FilePath, threads: 2, contextSize: 512, LlamaKvLayout.PerSequence);
        var config = model.EngineConfigFor(maxBatch: 4, tokenBudget: 64);
        using var executor = model.CreateExecutor(config);
        var engine = new EngineCore(config, Sarathi(config), executor, new WallClock());
        for (var i = 0; i < 6; i++)
        {
            engine.Submit(TinyModel.Spec(model, i, Prompts[i % 3], 10));
        }

        var run = TinyModel.RunToEnd(engine);

        Assert.Equal(128, config.MaxModelLen);
        Assert.All(run.Records.Values, r => Assert.Equal(10, r.TokenTimesS.Count));
    }

    [Fact]
    public void Step_PerSequenceKvLayout_SameTokensWhateverOrderTheSchedulerListsRequests()
    {
        // The executor hands llama.cpp a step's tokens in sequence-id order (one micro-batch for a step of
        // decodes); each request must still get its own tokens, whatever order the plan lists them in.
        using var model = LlamaModel.Load(tiny.FilePath, threads: 2, contextSize: 512, LlamaKvLayout.PerSequence);
        var config = model.EngineConfigFor(maxBatch: 4, tokenBudget: 64);

        Dictionary<long, List<int>> RunListed(bool newestFirst)
        {
            using var executor = model.CreateExecutor(config);
            var engine = new EngineCore(config, new ListedOrderScheduler(newestFirst), executor, new WallClock());
            for (var i = 0; i < 4; i++)
            {
                engine.Submit(TinyModel.Spec(model, i, Prompts[i % 3], 6 + (3 * i)));
            }

            return TinyModel.RunToEnd(engine).Tokens;
        }

        var oldestFirst = RunListed(newestFirst: false);
        var newestFirst = RunListed(newestFirst: true);

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(6 + (3 * i), oldestFirst[i].Count);
            Assert.Equal(oldestFirst[i], newestFirst[i]);
        }
    }

    [Fact]
    public void Step_SameGreedyPromptTwice_SameTokens()
    {
        var first = Generate(TinyModel.Spec(Model, 1, Prompts[1], 16));
        var second = Generate(TinyModel.Spec(Model, 2, Prompts[1], 16));

        Assert.Equal(16, first.Count);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Step_SeededSampling_ReproducibleAndDifferentFromOtherSeed()
    {
        var a = Generate(TinyModel.Spec(Model, 1, Prompts[0], 24, new SamplingParams(Temperature: 1.5, TopP: 0.95, Seed: 3, IgnoreEos: true)));
        var b = Generate(TinyModel.Spec(Model, 2, Prompts[0], 24, new SamplingParams(Temperature: 1.5, TopP: 0.95, Seed: 3, IgnoreEos: true)));
        var c = Generate(TinyModel.Spec(Model, 3, Prompts[0], 24, new SamplingParams(Temperature: 1.5, TopP: 0.95, Seed: 4, IgnoreEos: true)));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Step_SwappedOutAndBackIn_ContinuesWithTheSameTokens()
    {
        var spec = TinyModel.Spec(Model, 5, Prompts[1], 14);
        var plain = Generate(spec);

        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64);
        using var executor = Model.CreateExecutor(config);
        var engine = new EngineCore(config, new PreemptOnceScheduler(5, 4, PreemptionMode.Swap), executor, new WallClock());
        var r = engine.Submit(spec);
        var run = TinyModel.RunToEnd(engine);

        Assert.Equal(1, r.Swaps);
        Assert.Equal(1, engine.Stats.SwapIns);
        Assert.Equal(FinishReason.Length, run.Records[5].Reason);

        // Swap restores the exact KV, and the batch shape (one decode) is the same, so greedy output is identical.
        Assert.Equal(plain, run.Tokens[5]);
    }

    [Fact]
    public void Step_RecomputePreemption_ReprefillsAndFinishes()
    {
        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64);
        using var executor = Model.CreateExecutor(config);
        var engine = new EngineCore(config, new PreemptOnceScheduler(6, 5, PreemptionMode.Recompute), executor, new WallClock());
        var r = engine.Submit(TinyModel.Spec(Model, 6, Prompts[0], 10));
        engine.Submit(TinyModel.Spec(Model, 7, Prompts[2], 10));
        var run = TinyModel.RunToEnd(engine);

        Assert.Equal(1, r.Recomputes);
        Assert.Equal(10, run.Tokens[6].Count);
        Assert.Equal(10, run.Tokens[7].Count);
    }

    [Fact]
    public void Step_MaxTokens_StopsExactlyThere()
    {
        var tokens = Generate(TinyModel.Spec(Model, 1, Prompts[0], 3));

        Assert.Equal(3, tokens.Count);
    }

    [Fact]
    public void Step_StopString_EndsResponseBeforeIt()
    {
        var reference = Run(TinyModel.Spec(Model, 1, Prompts[1], 40));
        var text = reference.Text[1];
        Assert.True(text.Length >= 12, $"reference text too short: '{text}'");
        var stop = text.Substring(text.Length / 2, 3);
        var expected = text[..text.IndexOf(stop, StringComparison.Ordinal)];

        var stopped = Run(TinyModel.Spec(Model, 2, Prompts[1], 40, new SamplingParams(Stop: [stop], IgnoreEos: true)));

        Assert.Equal(FinishReason.Stop, stopped.Records[2].Reason);
        Assert.Equal(expected, stopped.Text[2]);
        Assert.True(stopped.Tokens[2].Count < 40);
    }

    [Fact]
    public void Step_EndOfSequence_StopsUnlessIgnored()
    {
        // Find a prompt whose greedy continuation reaches EOS (the weights are random, so look for one).
        var eos = Model.EosToken;
        for (var attempt = 0; attempt < 64; attempt++)
        {
            var prompt = $"{Prompts[attempt % Prompts.Length]} {attempt}";
            var ignoring = Generate(TinyModel.Spec(Model, 1, prompt, 48));
            var at = ignoring.IndexOf(eos);
            if (at < 0)
            {
                continue;
            }

            var stopping = Run(TinyModel.Spec(Model, 2, prompt, 48, SamplingParams.Greedy));

            Assert.Equal(FinishReason.Stop, stopping.Records[2].Reason);
            Assert.Equal(ignoring[..(at + 1)], stopping.Tokens[2]);
            Assert.Equal(48, ignoring.Count);
            return;
        }

        Assert.Fail("no greedy continuation reached EOS");
    }

    [Fact]
    public void Execute_RequestWithoutTokenIds_ThrowsClearly()
    {
        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64);
        using var executor = Model.CreateExecutor(config);
        var engine = new EngineCore(config, Sarathi(config), executor, new WallClock());
        engine.Submit(TinyModel.Spec(Model, 1, Prompts[0], 4) with { PromptTokenIds = null });

        var e = Assert.Throws<InvalidOperationException>(() => engine.Step());
        Assert.Contains("prompt token ids", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateExecutor_ConfigLargerThanContext_Throws()
    {
        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64) with { GpuBlocks = 1000 };

        Assert.Throws<ArgumentException>(() => Model.CreateExecutor(config));
    }

    [Fact]
    public void EngineConfigFor_Context_BlocksCoverTheCache()
    {
        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64);

        Assert.Equal(512 / 16, config.GpuBlocks);
        Assert.Equal(512, config.MaxModelLen);
        Assert.Equal(64, config.TokenBudget);
    }

    private static IScheduler Sarathi(EngineConfig config) => PolicyRegistry.Get("sarathi").Create(new SchedulerOptions { Engine = config });

    private List<int> Generate(RequestSpec spec) => Run(spec).Tokens[spec.Id];

    private TinyModel.Run Run(RequestSpec spec)
    {
        var config = Model.EngineConfigFor(maxBatch: 8, tokenBudget: 64);
        using var executor = Model.CreateExecutor(config);
        var engine = new EngineCore(config, Sarathi(config), executor, new WallClock());
        engine.Submit(spec);
        return TinyModel.RunToEnd(engine);
    }

    /// <summary>Runs every request each step, listed by id (oldest or newest first); prompts fit one step.</summary>
    private sealed class ListedOrderScheduler(bool newestFirst) : IScheduler
    {
        public string Name => "listed-order";

        public StepPlan Plan(SchedulerView view)
        {
            var budget = view.NewBudget();
            var all = view.Running.Concat(view.Waiting);
            foreach (var r in newestFirst ? all.OrderByDescending(r => r.Id) : all.OrderBy(r => r.Id))
            {
                if (budget.MaxTokensFor(r) is > 0 and var n)
                {
                    budget.TrySchedule(r, n);
                }
            }

            return budget.Build();
        }
    }

    /// <summary>FCFS without chunking limits, which preempts one request once after it generated some tokens.</summary>
    private sealed class PreemptOnceScheduler(long victim, int afterTokens, PreemptionMode mode) : IScheduler
    {
        private bool _done;

        public string Name => "preempt-once";

        public StepPlan Plan(SchedulerView view)
        {
            var budget = view.NewBudget();
            var preempted = false;
            foreach (var r in view.Running)
            {
                if (!_done && r.Id == victim && r.Generated >= afterTokens && !r.IsPrefill)
                {
                    budget.Preempt(r, mode);
                    _done = preempted = true;
                }
            }

            foreach (var r in view.Running)
            {
                TrySchedule(budget, r);
            }

            if (!preempted)
            {
                foreach (var r in view.Swapped)
                {
                    TrySchedule(budget, r);
                }
            }

            foreach (var r in view.Waiting)
            {
                if (!preempted || r.Id != victim)
                {
                    TrySchedule(budget, r);
                }
            }

            return budget.Build();
        }

        private static void TrySchedule(StepBudget budget, EngineRequest r)
        {
            if (!budget.Contains(r) && budget.MaxTokensFor(r) is > 0 and var n)
            {
                budget.TrySchedule(r, n);
            }
        }
    }
}
