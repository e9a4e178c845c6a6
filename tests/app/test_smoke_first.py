from tests.factories import make_event


async def test_calendar_lists_an_upcoming_public_event(client, db):
    await make_event(db, title={"fi": "Puistoilta", "en": "Park evening"})
    response = await client.get("/?lang=en")
    assert response.status_code == 200
    assert "Park evening" in response.text
