"""Quick held-out check: python tests/benchmarks/quick_nlu.py MODEL.tar.gz"""
import asyncio, sys, time, collections, logging, os
sys.path.insert(0, os.getcwd())
logging.disable(logging.WARNING)
from rasa.core.agent import Agent
from rasa.shared.nlu.training_data.loading import load_data

async def main(model):
    agent = Agent.load(model)
    for lang in ("en", "fr", "sw"):
        td = load_data(f"tests/nlu/{lang}/test.yml")
        ok = lok = n = 0; errs = collections.Counter(); lat = []
        for ex in td.intent_examples:
            t = time.perf_counter(); r = await agent.parse_message(ex.get("text")); lat.append(time.perf_counter() - t)
            gold = ex.get("intent"); pred = r["intent"]["name"]
            if pred == "faq":
                pred = r.get("response_selector", {}).get("faq", {}).get("response", {}).get("intent_response_key") or "faq"
            full = ex.get("intent_response_key") or gold
            n += 1; ok += pred == full; lok += r.get("language") == lang
            if pred != full: errs[(full, pred)] += 1
        lat.sort()
        print(f"{lang}: intent acc {ok/n:.3f}  lang acc {lok/n:.3f}  n={n}  p50 {lat[n//2]*1000:.1f}ms")
        print("   top errors:", errs.most_common(6))
asyncio.run(main(sys.argv[1]))
