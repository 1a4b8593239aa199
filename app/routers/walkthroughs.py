"""GET /api/v1/walkthroughs and /api/v1/walkthroughs/{slug}: the guided walkthroughs, each step with
its scenario document (ready to evaluate), view, narrative and the facts it claims."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from .. import walkthroughs as W
from ..walkthroughs.markdown import to_html
from ..errors import ScenarioLookupError
from ..schemas import WalkthroughInfo, WalkthroughOut

router = APIRouter(prefix="/api/v1/walkthroughs", tags=["walkthroughs"])
Slug = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$")]


def full(slug: str) -> dict[str, Any]:
    try:
        wt = W.load(slug)
    except W.WalkthroughError as e:
        raise ScenarioLookupError(str(e)) from None
    steps = []
    for i, s in enumerate(wt["steps"]):
        steps.append({"index": i, "title": s["title"], "narrative": s["narrative"],
                      "narrative_html": to_html(s["narrative"]), "view": s["view"],
                      "scenario": W.step_scenario(wt, i),
                      "claims": [W.claim_text(c) for c in s.get("claims", [])]})
    return {"slug": wt["slug"], "title": wt["title"], "audience": wt["audience"], "steps": steps}


@router.get("", response_model=list[WalkthroughInfo])
async def list_walkthroughs() -> list[dict[str, Any]]:
    """Slug, title, audience and number of steps of each walkthrough, in teaching order."""
    out = []
    for slug in W.slugs():
        wt = W.load(slug)
        out.append({"slug": slug, "title": wt["title"], "audience": wt["audience"], "steps": len(wt["steps"])})
    return out


@router.get("/{slug}", response_model=WalkthroughOut, responses={404: {"description": "Unknown walkthrough"}})
async def get_walkthrough(slug: Slug) -> dict[str, Any]:
    """All steps of one walkthrough."""
    return full(slug)
