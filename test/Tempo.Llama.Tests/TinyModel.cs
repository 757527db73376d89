using Tempo.Core;
using Tempo.Engine;

namespace Tempo.Llama.Tests;

/// <summary>A tiny random model written once per test collection into a temp folder, and helpers to run it.</summary>
public sealed class TinyModel : IDisposable
{
    public static readonly GgufModelOptions Options = new() { Layers = 2, Embedding = 64, Vocabulary = 512, Context = 512, Heads = 4, Type = GgufWeightType.F32, Seed = 7 };

    private readonly string _dir;

    public TinyModel()
    {
        _dir = Directory.CreateTempSubdirectory("tempo-llama-").FullName;
        FilePath = Path.Combine(_dir, "tiny.gguf");
        GgufModelWriter.Write(FilePath, Options);
        Model = LlamaModel.Load(FilePath, threads: 2, contextSize: 512);
    }

    public string FilePath { get; }

    public LlamaModel Model { get; }

    public static RequestSpec Spec(LlamaModel model, long id, string prompt, int output, SamplingParams? sampling = null)
    {
        var ids = model.Tokenize(prompt, addBos: true);
        return Specs.Make(id, ids.Length, output, slo: new Slo(10, 1, 100)) with
        {
            PromptTokenIds = ids,
            Sampling = sampling ?? new SamplingParams(IgnoreEos: true),
        };
    }

    /// <summary>Runs the engine to completion, checking invariants after every step; returns records and per-request tokens and text.</summary>
    public static Run RunToEnd(EngineCore engine, int maxSteps = 10_000)
    {
        var run = new Run();
        engine.RequestEnded += (r, rec) => run.Records[r.Id] = rec;
        engine.TokenEmitted += (r, o) =>
        {
            (run.Tokens.TryGetValue(r.Id, out var list) ? list : run.Tokens[r.Id] = []).Add(o.TokenId);
            run.Text[r.Id] = run.Text.GetValueOrDefault(r.Id, "") + o.Text;
        };
        for (var i = 0; i < maxSteps && engine.HasWork; i++)
        {
            engine.Step();
            engine.CheckInvariants();
        }

        Assert.False(engine.HasWork, "engine did not finish");
        return run;
    }

    public void Dispose()
    {
        Model.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    public sealed class Run
    {
        public Dictionary<long, RequestRecord> Records { get; } = [];

        public Dictionary<long, List<int>> Tokens { get; } = [];

        public Dictionary<long, string> Text { get; } = [];
    }
}

[CollectionDefinition(Name)]
public sealed class TinyModelGroup : ICollectionFixture<TinyModel>
{
    public const string Name = "tiny model";
}
