using System.Text.RegularExpressions;

using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Tests.Profiles;

public sealed class CostProfileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("tempo-profile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void BuiltInNames_Always_ListsA100AndH100()
    {
        Assert.Equal(["llama3.1-8b-a100", "llama3.1-8b-h100"], CostProfile.BuiltInNames);
    }

    [Theory]
    [InlineData("llama3.1-8b-a100")]
    [InlineData("llama3.1-8b-h100")]
    [InlineData("LLAMA3.1-8B-A100")]
    public void Load_BuiltInName_ReturnsValidProfileOfThatName(string name)
    {
        var profile = CostProfile.Load(name);

        Assert.Equal(name, profile.Name, ignoreCase: true);
        Assert.Equal(32, profile.NumLayers);
        Assert.Equal(16, profile.BlockSize);
        Assert.Equal(8192, profile.MaxModelLen);
        Assert.Equal(4096, profile.KvCpuBlocks);
        Assert.Equal(1.1, profile.GqaBatchFactor);
        Assert.NotEmpty(profile.Calibration);
    }

    [Fact]
    public void Default_Always_IsTheA100ProfileWithItsKvCapacity()
    {
        var profile = CostProfile.Default;

        Assert.Equal("llama3.1-8b-a100", profile.Name);
        // ≈451K tokens of 128 KiB each (evaluation note C.5, docs/PROFILES.md).
        Assert.InRange(profile.KvGpuBlocks * profile.BlockSize, 445_000, 455_000);
    }

    [Fact]
    public void Save_ThenLoad_RoundTripsEveryField()
    {
        var original = CostProfile.Load("llama3.1-8b-h100") with { Name = "custom", KvSaveMs = 2.9e-4 };
        var path = Path.Combine(_dir, "custom.json");

        original.Save(path);
        var loaded = CostProfile.Load(path);

        Assert.Equal(original.ToJson(), loaded.ToJson());
        Assert.Equal(original.LinearMs.Length, loaded.LinearMs.Length);
        Assert.Equal(original with { LinearMs = loaded.LinearMs }, loaded);
    }

    [Fact]
    public void Load_UnknownName_ThrowsNamingTheKnownProfiles()
    {
        var e = Assert.Throws<ArgumentException>(() => CostProfile.Load("gpt-5-on-a-toaster"));

        Assert.Contains("gpt-5-on-a-toaster", e.Message);
        Assert.Contains("llama3.1-8b-a100", e.Message);
        Assert.Contains("llama3.1-8b-h100", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("{ \"name\": \"x\", ", "invalid JSON")]
    [InlineData("[1, 2]", "invalid JSON")]
    [InlineData("null", "null")]
    public void Load_MalformedFile_ThrowsFormatExceptionNamingTheFile(string json, string expected)
    {
        var path = Write(json);

        var e = Assert.Throws<FormatException>(() => CostProfile.Load(path));

        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Theory]
    [InlineData("\"num_layers\": 32", "\"num_layers\": 0", "num_layers")]
    [InlineData("\"fixed_ms\": 9.64", "\"fixed_ms\": -1", "fixed_ms")]
    [InlineData("\"decode_attn_b_ms\": 2.33e-6", "\"decode_attn_b_ms\": -2.33e-6", "decode_attn_b_ms")]
    [InlineData("[16, 10.13], [32, 10.91]", "[32, 10.13], [16, 10.91]", "increase")]
    [InlineData("\"kv_gpu_blocks\": 28180", "\"kv_gpu_blocks\": 0", "kv_gpu_blocks")]
    [InlineData("\"num_layers\": 32,", "", "num_layers")]
    [InlineData("\"num_layers\": 32,", "\"num_layers\": 32, \"num_layerz\": 3,", "num_layerz")]
    public void Load_InvalidValues_ThrowsFormatExceptionNamingTheField(string find, string replace, string expected)
    {
        var json = BuiltInJson();
        Assert.Contains(find, json);
        var path = Write(json.Replace(find, replace, StringComparison.Ordinal));

        var e = Assert.Throws<FormatException>(() => CostProfile.Load(path));

        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Load_EmptyLinearTable_ThrowsNamingTheTable()
    {
        var json = Regex.Replace(BuiltInJson(), @"""linear_ms"": \[[^""]*\],", "\"linear_ms\": [],");
        Assert.Contains("\"linear_ms\": []", json);

        var e = Assert.Throws<FormatException>(() => CostProfile.Load(Write(json)));

        Assert.Contains("linear_ms", e.Message);
    }

    [Fact]
    public void Load_CommentsAndTrailingCommas_AreAccepted()
    {
        var json = BuiltInJson().Replace("\"num_layers\": 32,", "// layers\n  \"num_layers\": 32,", StringComparison.Ordinal)
            .Replace("\"max_model_len\": 8192,", "\"max_model_len\": 8192, ", StringComparison.Ordinal);

        Assert.Equal(32, CostProfile.Load(Write(json)).NumLayers);
    }

    [Fact]
    public void ToEngineConfig_Always_CopiesCapacityAndLimits()
    {
        var config = CostProfile.Default.ToEngineConfig(maxBatch: 16, tokenBudget: 512);

        Assert.Equal(16, config.MaxBatch);
        Assert.Equal(512, config.TokenBudget);
        Assert.Equal(28_180, config.GpuBlocks);
        Assert.Equal(4096, config.CpuBlocks);
        Assert.Equal(16, config.BlockSize);
        Assert.Equal(8192, config.MaxModelLen);
        config.Validate();
    }

    private static string BuiltInJson()
    {
        using var stream = typeof(CostProfile).Assembly.GetManifestResourceStream("Tempo.Simulation.Profiles.llama3.1-8b-a100.json")!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private string Write(string json)
    {
        var path = Path.Combine(_dir, $"p{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
