"""SMS through a Bangladeshi bulk-SMS gateway's HTTP API (the BulkSMSBD / SSL Wireless style).

``POST {base}/api/smsapi`` with the form fields ``api_key``, ``senderid``, ``number`` (8801XXXXXXXXX) and
``message`` (Bangla is sent as Unicode text; the gateway splits it into 70-character parts). The gateway answers
JSON: ``response_code`` 202 when it accepted the message, with its ``message_id``; any other code is a refusal
(``error_message``). ``csms_id`` is our delivery id, so a retried send is recognisable at the gateway.
"""

from __future__ import annotations

import httpx


class SmsError(RuntimeError):
    pass


class SmsSender:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, api_key: str, sender_id: str) -> None:
        self.http = http
        self.url = base_url.rstrip("/") + "/api/smsapi"
        self.api_key = api_key
        self.sender_id = sender_id

    async def send(self, msisdn: str, text: str, reference: str) -> str:
        r = await self.http.post(
            self.url,
            data={
                "api_key": self.api_key,
                "senderid": self.sender_id,
                "number": msisdn,
                "message": text,
                "csms_id": reference[:64],
            },
        )
        if r.status_code != 200:
            raise SmsError(f"SMS gateway answered HTTP {r.status_code}: {r.text[:200]}")
        body = r.json()
        if int(body.get("response_code", 0)) != 202:
            raise SmsError(f"SMS gateway refused ({body.get('response_code')}): {body.get('error_message')}")
        return str(body.get("message_id") or "")
