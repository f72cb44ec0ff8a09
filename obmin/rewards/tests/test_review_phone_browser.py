"""The reward reviews' decision page on a 375 px phone: the rewards and their evidence scroll in
their own box, the reason's field fits, nothing scrolls the page sideways."""

from __future__ import annotations

import pytest

from obmin.rewards.models import RewardReview
from obmin.rewards.tests.test_review import fixed_reward, own_network_exchange  # noqa: F401
from obmin.testing.browser import broken_words, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_decision_page_fits_a_phone(page, live_server, carol, alice, referred,
                                       fixed_reward):  # noqa: F811
    own_network_exchange(referred, alice)
    review = RewardReview.objects.get()
    page.context.add_cookies([session_cookie(live_server.url, carol)])
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto("/admin/rewards/rewardreview/")
    page.check(f"input[name=_selected_action][value='{review.pk}']")
    page.select_option("select[name=action]", "reject")
    page.click("button[name=index]")
    page.wait_for_selector("#decide")
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 375, f"the decision page is {width} px wide at 375 px"
    assert not broken_words(page), broken_words(page)
    # The box that scrolls is reachable from the keyboard.
    assert page.get_attribute("#decide-rewards", "tabindex") == "0"
